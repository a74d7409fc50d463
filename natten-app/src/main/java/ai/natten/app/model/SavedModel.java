package ai.natten.app.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A trained classifier on disk: a directory with {@code model.json} ({@link ModelCard}) and the DJL
 * parameter file {@code model-NNNN.params}. Loading goes through DJL's {@link Criteria} into a
 * {@link ZooModel} whose predictors map {@link Image} to {@link Classifications}.
 */
public final class SavedModel {

    /** The card's file name. */
    public static final String CARD = "model.json";

    /** The parameter files' prefix. */
    public static final String NAME = "model";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private SavedModel() {}

    /**
     * Saves a model's parameters and card.
     *
     * @param directory created if missing
     * @param model the model (its Block's parameters are written)
     * @param card the card
     */
    public static void save(Path directory, Model model, ModelCard card) throws IOException {
        Files.createDirectories(directory);
        model.save(directory, NAME);
        Files.writeString(directory.resolve(CARD), GSON.toJson(card));
    }

    /**
     * Reads a model directory's card.
     *
     * @throws IOException when the directory or card is missing, or the card is malformed
     */
    public static ModelCard readCard(Path directory) throws IOException {
        Path card = directory.resolve(CARD);
        if (!Files.isDirectory(directory)) {
            throw new NoSuchFileException(directory.toString(), null, "model directory not found");
        }
        if (!Files.isRegularFile(card)) {
            throw new NoSuchFileException(
                    card.toString(), null, "not a saved model: " + CARD + " missing");
        }
        try {
            ModelCard parsed = GSON.fromJson(Files.readString(card), ModelCard.class);
            if (parsed == null) {
                throw new IOException(card + ": empty model card");
            }
            return new ModelCard(
                    parsed.spec(),
                    parsed.classes(),
                    parsed.mean(),
                    parsed.std(),
                    parsed.cropFraction());
        } catch (JsonParseException | IllegalArgumentException | NullPointerException e) {
            throw new IOException(card + ": malformed model card (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Loads a saved model through DJL's Criteria.
     *
     * @param directory the model directory
     * @param device where to run it
     * @return the model, with an Image to Classifications translator
     * @throws IOException when files are missing or corrupt (the message names them)
     */
    public static ZooModel<Image, Classifications> load(Path directory, Device device)
            throws IOException {
        ModelCard card = readCard(directory);
        requireParameters(directory);
        Criteria<Image, Classifications> criteria =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optModelPath(directory)
                        .optModelName(NAME)
                        .optEngine("PyTorch")
                        .optDevice(device)
                        .optBlock(ModelRegistry.create(card.spec()))
                        .optTranslator(new ClassifierTranslator(card))
                        .build();
        try {
            return criteria.loadModel();
        } catch (MalformedModelException | ModelNotFoundException | IOException e) {
            throw new IOException(
                    directory + ": cannot load the parameters (" + reason(e) + ")", e);
        } catch (RuntimeException e) {
            throw new IOException(
                    directory + ": corrupt or mismatched parameters (" + e.getMessage() + ")", e);
        }
    }

    private static String reason(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static void requireParameters(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            boolean found =
                    files.anyMatch(
                            f -> {
                                String name = f.getFileName().toString();
                                return name.startsWith(NAME) && name.endsWith(".params");
                            });
            if (!found) {
                throw new NoSuchFileException(
                        directory.resolve(NAME + "-0000.params").toString(),
                        null,
                        "parameter file missing");
            }
        }
    }
}

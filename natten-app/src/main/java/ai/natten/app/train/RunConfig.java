package ai.natten.app.train;

import ai.natten.app.data.Normalization;
import ai.natten.app.model.ModelSpec;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * The settings of a training run, saved as {@code run.json} in the run directory so that {@code
 * --resume} continues with exactly the same ones.
 *
 * @param dataset where the data comes from: {@code embedded}, {@code fashion-mnist:DIR} or {@code
 *     folder:DIR}
 * @param classes the class names
 * @param model the Block to build
 * @param recipe the hyper-parameters
 * @param mean the normalization mean per channel
 * @param std the normalization standard deviation per channel
 */
public record RunConfig(
        String dataset,
        List<String> classes,
        ModelSpec model,
        TrainingRecipe recipe,
        float[] mean,
        float[] std) {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();
    private static final String FILE = "run.json";

    /** Returns the normalization. */
    public Normalization normalization() {
        return new Normalization(mean, std);
    }

    /** Writes {@code run.json} into a run directory. */
    public void write(Path runDirectory) throws IOException {
        Files.writeString(runDirectory.resolve(FILE), GSON.toJson(this));
    }

    /**
     * Reads a run directory's {@code run.json}.
     *
     * @throws IOException when it is missing or malformed
     */
    public static RunConfig read(Path runDirectory) throws IOException {
        Path file = runDirectory.resolve(FILE);
        if (!Files.isDirectory(runDirectory)) {
            throw new NoSuchFileException(runDirectory.toString(), null, "run directory not found");
        }
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "not a run directory");
        }
        try {
            RunConfig config = GSON.fromJson(Files.readString(file), RunConfig.class);
            if (config == null || config.model() == null || config.recipe() == null) {
                throw new IOException(file + ": incomplete run settings");
            }
            return config;
        } catch (JsonParseException e) {
            throw new IOException(file + ": malformed (" + e.getMessage() + ")", e);
        }
    }
}

package ai.natten.app.cli;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.natten.app.model.SavedModel;
import ai.natten.zoo.ModelDirectory;
import ai.natten.zoo.NatModelZoo;
import ai.natten.zoo.nat.NatModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The model {@code evaluate} and {@code predict} load through DJL's Criteria: one saved by {@code
 * natten train} ({@code --model-dir}) or a NAT/DiNAT variant of the model zoo with imported or DJL
 * weights ({@code --zoo}, from the zoo's local repository or {@code --zoo-dir}).
 */
final class ModelSource {

    @Option(
            names = "--model-dir",
            paramLabel = "DIR",
            description = "a model saved by natten train, e.g. runs/<run>/model")
    Path modelDirectory;

    @Option(
            names = "--zoo",
            paramLabel = "VARIANT",
            description =
                    "a model-zoo variant (e.g. nat_mini) whose weights (an official checkpoint or"
                            + " DJL .params) are in the zoo's local repository or --zoo-dir")
    String zooVariant;

    @Option(
            names = "--zoo-dir",
            paramLabel = "DIR",
            description = "with --zoo: the directory holding the weights")
    Path zooDirectory;

    /** A loaded classifier and its class names. */
    record Loaded(ZooModel<Image, Classifications> model, List<String> classes)
            implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    /**
     * Checks that exactly one source is given and, for a saved model, that it exists.
     *
     * @throws IllegalArgumentException naming the options at fault
     * @throws IOException when the saved model's card is missing or malformed
     */
    void check() throws IOException {
        if ((modelDirectory == null) == (zooVariant == null)) {
            throw new IllegalArgumentException("give exactly one of --model-dir or --zoo");
        }
        if (zooDirectory != null && zooVariant == null) {
            throw new IllegalArgumentException("--zoo-dir needs --zoo");
        }
        if (modelDirectory != null) {
            SavedModel.readCard(modelDirectory);
        }
    }

    /**
     * Loads the model through Criteria.
     *
     * @throws IOException when files are missing or corrupt (the message names them)
     */
    Loaded load(Device device) throws IOException {
        check();
        if (modelDirectory != null) {
            return new Loaded(
                    SavedModel.load(modelDirectory, device),
                    SavedModel.readCard(modelDirectory).classes());
        }
        Path weights = zooWeights();
        if (ModelDirectory.checkpoint(weights).isEmpty()
                && !ModelDirectory.hasDjlParameters(weights)) {
            throw new NoSuchFileException(
                    weights.toString(),
                    null,
                    "--zoo "
                            + zooVariant
                            + ": no weights (an official checkpoint or DJL .params) in");
        }
        Criteria.Builder<Image, Classifications> criteria =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optGroupId(NatModelZoo.GROUP_ID)
                        .optArtifactId(zooVariant)
                        .optEngine("PyTorch")
                        .optDevice(device);
        criteria.optArgument("modelDir", weights.toString());
        ZooModel<Image, Classifications> model;
        try {
            model = criteria.build().loadModel();
        } catch (ModelNotFoundException | MalformedModelException e) {
            throw new IOException("--zoo " + zooVariant + ": " + e.getMessage(), e);
        }
        return new Loaded(model, zooClasses(model));
    }

    /** The directory of the zoo variant's weights. */
    private Path zooWeights() {
        return zooDirectory != null
                ? zooDirectory
                : ModelDirectory.repository().resolve(zooVariant);
    }

    /**
     * The zoo model's class names, as its translator reads them: {@code synset.txt} of the weights'
     * directory, else {@code class_i}.
     */
    private List<String> zooClasses(ZooModel<Image, Classifications> model) throws IOException {
        Path synset = zooWeights().resolve("synset.txt");
        if (Files.isRegularFile(synset)) {
            return Files.readAllLines(synset);
        }
        List<String> names = new ArrayList<>();
        int classes = ((NatModel) model.getBlock()).config().numClasses();
        for (int i = 0; i < classes; i++) {
            names.add("class_" + i);
        }
        return names;
    }
}

package ai.natten.app.cli;

import ai.natten.app.data.DatasetSplits;
import ai.natten.app.data.FashionMnist;
import ai.natten.app.data.ImageFolder;
import ai.natten.app.data.Normalization;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The dataset choice shared by the commands: an ImageNet-style folder, the full Fashion-MNIST, or
 * (neither given) the Fashion-MNIST subset embedded in the application.
 */
final class DataOptions {

    @Option(
            names = "--data",
            paramLabel = "DIR",
            description =
                    "ImageNet-style dataset: DIR/train/<class>/*.jpg and DIR/val/<class>/*.jpg"
                            + " (evaluate: DIR/<class>/*.jpg also works)")
    Path folder;

    @Option(
            names = "--fashion-mnist",
            paramLabel = "DIR",
            description =
                    "the full Fashion-MNIST idx files, e.g. /usr/share/datasets/fashion-mnist"
                            + " (Debian package dataset-fashion-mnist)")
    Path fashionMnist;

    /** Rejects both dataset options at once. */
    void checkExclusive() {
        if (folder != null && fashionMnist != null) {
            throw new IllegalArgumentException("give either --data or --fashion-mnist, not both");
        }
    }

    /** Returns the dataset id recorded in run.json. */
    String id() {
        if (folder != null) {
            return "folder:" + folder.toAbsolutePath();
        }
        if (fashionMnist != null) {
            return "fashion-mnist:" + fashionMnist.toAbsolutePath();
        }
        return "embedded";
    }

    /** Returns true for grey 28x28 Fashion-MNIST, embedded or full. */
    boolean isFashionMnist() {
        return folder == null;
    }

    /** Returns the dataset's normalization. */
    Normalization normalization() {
        return isFashionMnist()
                ? Normalization.uniform(FashionMnist.MEAN, FashionMnist.STD)
                : Normalization.IMAGENET;
    }

    /** Loads the train/validation splits. */
    DatasetSplits load() throws IOException {
        return load(id());
    }

    /**
     * Loads the splits of a dataset id as recorded in run.json.
     *
     * @throws IOException when files are missing or corrupt
     */
    static DatasetSplits load(String id) throws IOException {
        if (id.equals("embedded")) {
            return FashionMnist.embedded();
        }
        if (id.startsWith("fashion-mnist:")) {
            return FashionMnist.fromDirectory(Path.of(id.substring("fashion-mnist:".length())));
        }
        if (id.startsWith("folder:")) {
            return ImageFolder.trainAndVal(Path.of(id.substring("folder:".length())));
        }
        throw new IllegalArgumentException("unknown dataset '" + id + "' in run.json");
    }
}

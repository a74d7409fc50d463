package ai.natten.app.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Fashion-MNIST (Zalando Research, MIT licence): 28x28 grey images of 10 clothing classes, in the
 * original gzipped idx files.
 *
 * <p>{@link #embedded()} reads the subset shipped in this jar (the first 4000 training and first
 * 1000 test images of Debian's {@code dataset-fashion-mnist} package, see {@code
 * natten-app/scripts/make_fashion_mnist_subset.py}); {@link #fromDirectory(Path)} reads the full
 * set, e.g. {@code /usr/share/datasets/fashion-mnist}.
 */
public final class FashionMnist {

    /** The class names, in label order. */
    public static final List<String> CLASSES =
            List.of(
                    "T-shirt/top",
                    "Trouser",
                    "Pullover",
                    "Dress",
                    "Coat",
                    "Sandal",
                    "Shirt",
                    "Sneaker",
                    "Bag",
                    "Ankle boot");

    /** Per-channel mean of the training pixels in [0, 1]. */
    public static final float MEAN = 0.2860f;

    /** Per-channel standard deviation of the training pixels in [0, 1]. */
    public static final float STD = 0.3530f;

    private static final String RESOURCE_DIR = "/ai/natten/app/data/fashion-mnist/";

    private FashionMnist() {}

    /** Reads the subset shipped with the application (4000 train, 1000 test images). */
    public static DatasetSplits embedded() throws IOException {
        return new DatasetSplits(
                IdxImages.read(
                        "embedded fashion-mnist train",
                        CLASSES,
                        resource("train-images-idx3-ubyte.gz"),
                        resource("train-labels-idx1-ubyte.gz")),
                IdxImages.read(
                        "embedded fashion-mnist test",
                        CLASSES,
                        resource("t10k-images-idx3-ubyte.gz"),
                        resource("t10k-labels-idx1-ubyte.gz")));
    }

    /**
     * Reads the four standard files ({@code train-images-idx3-ubyte.gz}, {@code
     * train-labels-idx1-ubyte.gz}, {@code t10k-images-idx3-ubyte.gz}, {@code
     * t10k-labels-idx1-ubyte.gz}) from a directory.
     *
     * @throws IOException naming the missing or unreadable file
     */
    public static DatasetSplits fromDirectory(Path directory) throws IOException {
        if (!Files.isDirectory(directory)) {
            throw new NoSuchFileException(
                    directory.toString(), null, "Fashion-MNIST directory not found");
        }
        return new DatasetSplits(
                IdxImages.read(
                        "fashion-mnist train",
                        CLASSES,
                        file(directory.resolve("train-images-idx3-ubyte.gz")),
                        file(directory.resolve("train-labels-idx1-ubyte.gz"))),
                IdxImages.read(
                        "fashion-mnist test",
                        CLASSES,
                        file(directory.resolve("t10k-images-idx3-ubyte.gz")),
                        file(directory.resolve("t10k-labels-idx1-ubyte.gz"))));
    }

    private static IdxImages.IdxSource resource(String fileName) {
        String name = RESOURCE_DIR + fileName;
        return new IdxImages.IdxSource() {
            @Override
            public String name() {
                return "resource " + name;
            }

            @Override
            public InputStream open() throws IOException {
                InputStream in = FashionMnist.class.getResourceAsStream(name);
                if (in == null) {
                    throw new NoSuchFileException(name, null, "embedded dataset missing from jar");
                }
                return in;
            }
        };
    }

    private static IdxImages.IdxSource file(Path path) {
        return new IdxImages.IdxSource() {
            @Override
            public String name() {
                return path.toString();
            }

            @Override
            public InputStream open() throws IOException {
                if (!Files.isRegularFile(path)) {
                    throw new NoSuchFileException(
                            path.toString(), null, "Fashion-MNIST file not found");
                }
                return Files.newInputStream(path);
            }
        };
    }
}

package ai.natten.it;

import ai.natten.app.data.FashionMnist;
import ai.natten.app.data.LabeledImages;
import ai.natten.app.data.RawImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

/** Small datasets cut from the embedded Fashion-MNIST subset. */
final class Fixtures {

    private Fixtures() {}

    /** Writes the first train and test images as a Fashion-MNIST directory of gzipped idx. */
    static Path fashionMnist(Path dir, int train, int test) throws IOException {
        Files.createDirectories(dir);
        LabeledImages trainSet = FashionMnist.embedded().train();
        LabeledImages testSet = FashionMnist.embedded().validation();
        writeSplit(dir, "train", trainSet, train);
        writeSplit(dir, "t10k", testSet, test);
        return dir;
    }

    /** Writes test image {@code index} of the embedded set as a PNG. */
    static Path png(Path file, int index) throws IOException {
        RawImage raw = FashionMnist.embedded().validation().image(index);
        BufferedImage image =
                new BufferedImage(raw.width(), raw.height(), BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < raw.height(); y++) {
            for (int x = 0; x < raw.width(); x++) {
                image.getRaster().setSample(x, y, 0, raw.value(x, y, 0));
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    private static void writeSplit(Path dir, String split, LabeledImages images, int count)
            throws IOException {
        RawImage first = images.image(0);
        int rows = first.height();
        int cols = first.width();
        byte[] pixels = new byte[count * rows * cols];
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) {
            RawImage image = images.image(i);
            for (int y = 0; y < rows; y++) {
                for (int x = 0; x < cols; x++) {
                    pixels[(i * rows + y) * cols + x] = (byte) image.value(x, y, 0);
                }
            }
            labels[i] = (byte) images.label(i);
        }
        writeIdx(
                dir.resolve(split + "-images-idx3-ubyte.gz"),
                0x0803,
                new int[] {count, rows, cols},
                pixels);
        writeIdx(dir.resolve(split + "-labels-idx1-ubyte.gz"), 0x0801, new int[] {count}, labels);
    }

    static void writeIdx(Path file, int magic, int[] dims, byte[] payload) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bytes))) {
            out.writeInt(magic);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(payload);
        }
        Files.write(file, bytes.toByteArray());
    }
}

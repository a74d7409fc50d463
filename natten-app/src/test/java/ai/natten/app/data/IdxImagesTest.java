package ai.natten.app.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxImagesTest {

    @TempDir Path dir;

    @Test
    void embeddedSubsetHasBalancedClasses() throws IOException {
        DatasetSplits splits = FashionMnist.embedded();
        assertEquals(4000, splits.train().size());
        assertEquals(1000, splits.validation().size());
        int[] counts = new int[10];
        for (int i = 0; i < splits.validation().size(); i++) {
            counts[splits.validation().label(i)]++;
        }
        for (int count : counts) {
            assertTrue(count > 80 && count < 120, "every class near 100: " + count);
        }
        RawImage image = splits.train().image(0);
        assertEquals(28, image.width());
        assertEquals(1, image.channels());
    }

    @Test
    void readsWhatWasWritten() throws IOException {
        byte[] pixels = new byte[2 * 3 * 4];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 7);
        }
        writeIdx(dir.resolve("train-images-idx3-ubyte.gz"), 0x0803, new int[] {2, 3, 4}, pixels);
        writeIdx(
                dir.resolve("train-labels-idx1-ubyte.gz"),
                0x0801,
                new int[] {2},
                new byte[] {9, 4});
        writeIdx(dir.resolve("t10k-images-idx3-ubyte.gz"), 0x0803, new int[] {2, 3, 4}, pixels);
        writeIdx(
                dir.resolve("t10k-labels-idx1-ubyte.gz"), 0x0801, new int[] {2}, new byte[] {0, 1});
        DatasetSplits splits = FashionMnist.fromDirectory(dir);
        RawImage second = splits.train().image(1);
        assertEquals(4, second.width());
        assertEquals(3, second.height());
        assertEquals((12 + 4 + 1) * 7 & 0xFF, second.value(1, 1, 2)); // grey: any channel
        assertEquals(4, splits.train().label(1));
    }

    @Test
    void corruptOrMismatchedFilesNameTheFile() throws IOException {
        Path images = dir.resolve("images.gz");
        Path labels = dir.resolve("labels.gz");
        writeIdx(images, 0x0803, new int[] {2, 2, 2}, new byte[8]);
        writeIdx(labels, 0x0801, new int[] {3}, new byte[3]);
        IOException mismatch = assertThrows(IOException.class, () -> read(images, labels));
        assertTrue(mismatch.getMessage().contains("2 images but"), mismatch.getMessage());

        Files.write(labels, new byte[] {1, 2, 3, 4});
        IOException notGzip = assertThrows(IOException.class, () -> read(images, labels));
        assertTrue(notGzip.getMessage().contains(labels.toString()), notGzip.getMessage());

        writeIdx(labels, 0x0803, new int[] {2, 2, 2}, new byte[8]);
        IOException wrongMagic = assertThrows(IOException.class, () -> read(images, labels));
        assertTrue(wrongMagic.getMessage().contains("magic"), wrongMagic.getMessage());

        writeIdx(images, 0x0803, new int[] {2, 2, 2}, new byte[5]);
        writeIdx(labels, 0x0801, new int[] {2}, new byte[2]);
        IOException truncated = assertThrows(IOException.class, () -> read(images, labels));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());

        writeIdx(images, 0x0803, new int[] {2, 2, 2}, new byte[8]);
        writeIdx(labels, 0x0801, new int[] {2}, new byte[] {0, 10});
        IOException badLabel = assertThrows(IOException.class, () -> read(images, labels));
        assertTrue(badLabel.getMessage().contains("label 10"), badLabel.getMessage());
    }

    @Test
    void missingDirectoryIsNamed() {
        Path missing = dir.resolve("nope");
        IOException e = assertThrows(IOException.class, () -> FashionMnist.fromDirectory(missing));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    private static IdxImages read(Path images, Path labels) throws IOException {
        return IdxImages.read("test", FashionMnist.CLASSES, source(images), source(labels));
    }

    private static IdxImages.IdxSource source(Path path) {
        return new IdxImages.IdxSource() {
            @Override
            public String name() {
                return path.toString();
            }

            @Override
            public java.io.InputStream open() throws IOException {
                return Files.newInputStream(path);
            }
        };
    }

    /** Writes a gzipped idx file. */
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

package ai.natten.app.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BatchLoaderTest {

    /** 37 random 6x6 RGB images, label i % 3. */
    private static final class Synthetic implements LabeledImages {
        private final RawImage[] images = new RawImage[37];
        private final int failAt;

        Synthetic(int failAt) {
            Random random = new Random(1);
            for (int i = 0; i < images.length; i++) {
                byte[] pixels = new byte[6 * 6 * 3];
                random.nextBytes(pixels);
                images[i] = new RawImage(6, 6, 3, pixels);
            }
            this.failAt = failAt;
        }

        @Override
        public int size() {
            return images.length;
        }

        @Override
        public List<String> classes() {
            return List.of("a", "b", "c");
        }

        @Override
        public int label(int index) {
            return index % 3;
        }

        @Override
        public RawImage image(int index) throws IOException {
            if (index == failAt) {
                throw new IOException("image " + index + " is corrupt");
            }
            return images[index];
        }

        @Override
        public String describe() {
            return "synthetic";
        }
    }

    private static List<HostBatch> epoch(BatchLoader loader, int epoch) {
        List<HostBatch> batches = new ArrayList<>();
        loader.epoch(epoch).forEachRemaining(batches::add);
        return batches;
    }

    @Test
    void anEpochIsAFunctionOfSeedAndEpochWhateverTheThreads() {
        Normalization norm = Normalization.IMAGENET;
        try (BatchLoader one =
                        new BatchLoader(
                                new Synthetic(-1),
                                new RandomResizedCrop(4, 0.3, true, norm),
                                8,
                                true,
                                5,
                                1);
                BatchLoader three =
                        new BatchLoader(
                                new Synthetic(-1),
                                new RandomResizedCrop(4, 0.3, true, norm),
                                8,
                                true,
                                5,
                                3)) {
            assertEquals(4, one.batchesPerEpoch()); // 37 / 8, last partial dropped
            List<HostBatch> a = epoch(one, 2);
            List<HostBatch> b = epoch(three, 2);
            List<HostBatch> next = epoch(one, 3);
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i).labels(), b.get(i).labels());
                assertArrayEquals(a.get(i).pixels(), b.get(i).pixels());
            }
            assertFalse(
                    Arrays.equals(a.get(0).pixels(), next.get(0).pixels()),
                    "another epoch, another order and augmentation");
        }
    }

    @Test
    void evaluationKeepsOrderAndEveryImage() {
        try (BatchLoader loader =
                new BatchLoader(
                        new Synthetic(-1),
                        new CenterCrop(6, 1, Normalization.IMAGENET),
                        8,
                        false,
                        5,
                        2)) {
            List<HostBatch> batches = epoch(loader, 0);
            assertEquals(5, batches.size());
            assertEquals(5, batches.get(4).size());
            int index = 0;
            for (HostBatch batch : batches) {
                for (int label : batch.labels()) {
                    assertEquals(index++ % 3, label);
                }
            }
            assertEquals(37, index);
        }
    }

    @Test
    void aCorruptImageSurfacesAsItsIoError() {
        try (BatchLoader loader =
                new BatchLoader(
                        new Synthetic(3),
                        new CenterCrop(6, 1, Normalization.IMAGENET),
                        8,
                        false,
                        5,
                        2)) {
            Iterator<HostBatch> batches = loader.epoch(0);
            UncheckedIOException e = assertThrows(UncheckedIOException.class, batches::next);
            assertEquals("image 3 is corrupt", e.getCause().getMessage());
        }
    }

    @Test
    void batchLargerThanTheTrainingSetIsRefused() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                new BatchLoader(
                                        new Synthetic(-1),
                                        new CenterCrop(6, 1, Normalization.IMAGENET),
                                        64,
                                        true,
                                        5,
                                        1));
        assertEquals("batch size 64 is larger than the training set (37 images)", e.getMessage());
    }
}

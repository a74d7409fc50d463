package ai.natten.app.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class TransformsTest {

    private static final Normalization NORM =
            new Normalization(new float[] {0.1f, 0.5f, 0.9f}, new float[] {0.2f, 0.3f, 0.4f});

    private static RawImage randomRgb(int width, int height, long seed) {
        byte[] pixels = new byte[width * height * 3];
        new Random(seed).nextBytes(pixels);
        return new RawImage(width, height, 3, pixels);
    }

    private static float normalized(RawImage image, int x, int y, int c) {
        return (float) ((image.value(x, y, c) / 255.0 - NORM.mean()[c]) / NORM.std()[c]);
    }

    @Test
    void centerCropOfFullFractionAtSameSizeIsTheNormalizedImage() {
        RawImage image = randomRgb(9, 9, 1);
        float[] out = new float[3 * 81];
        new CenterCrop(9, 1.0, NORM).apply(image, null, out, 0);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 9; y++) {
                for (int x = 0; x < 9; x++) {
                    assertEquals(normalized(image, x, y, c), out[c * 81 + y * 9 + x], 1e-5f);
                }
            }
        }
    }

    @Test
    void centerCropTakesTheMiddleAndGreyFillsEveryChannel() {
        // 6x4 grey image, fraction 0.5 of the short side at size 2: source pixels x 2..3, y 1..2
        byte[] grey = new byte[24];
        new Random(3).nextBytes(grey);
        RawImage image = new RawImage(6, 4, 1, grey);
        float[] out = new float[12];
        new CenterCrop(2, 0.5, NORM).apply(image, null, out, 0);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 2; y++) {
                for (int x = 0; x < 2; x++) {
                    assertEquals(normalized(image, 2 + x, 1 + y, c), out[c * 4 + y * 2 + x], 1e-5f);
                }
            }
        }
    }

    @Test
    void downscalingByTwoAveragesPixelPairs() {
        RawImage image = randomRgb(4, 4, 5);
        float[] out = new float[3 * 4];
        new CenterCrop(2, 1.0, NORM).apply(image, null, out, 0);
        // align_corners=False at scale 2 samples at source 0.5 and 2.5: the mean of a 2x2 block
        for (int c = 0; c < 3; c++) {
            double mean =
                    (image.value(0, 0, c)
                                    + image.value(1, 0, c)
                                    + image.value(0, 1, c)
                                    + image.value(1, 1, c))
                            / 4.0;
            assertEquals((mean / 255 - NORM.mean()[c]) / NORM.std()[c], out[c * 4], 1e-5);
        }
    }

    @Test
    void randomResizedCropIsAFunctionOfTheGenerator() {
        RawImage image = randomRgb(20, 16, 7);
        RandomResizedCrop crop = new RandomResizedCrop(8, 0.3, true, NORM);
        float[] a = new float[3 * 64];
        float[] b = new float[3 * 64];
        float[] c = new float[3 * 64];
        crop.apply(image, new Random(11), a, 0);
        crop.apply(image, new Random(11), b, 0);
        crop.apply(image, new Random(12), c, 0);
        assertArrayEquals(a, b);
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(c));
    }

    @Test
    void fullScaleCropWithoutFlipAtSameSizeIsTheIdentityWhenTheRatioIsOne() {
        // minScale 1 and a square image: only ratio 1 fits (other ratios exceed a side), or the
        // fallback central crop, which is the whole image
        RawImage image = randomRgb(8, 8, 9);
        float[] out = new float[3 * 64];
        new RandomResizedCrop(8, 1.0, false, NORM).apply(image, new Random(1), out, 0);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    assertEquals(normalized(image, x, y, c), out[c * 64 + y * 8 + x], 1e-5f);
                }
            }
        }
    }

    @Test
    void flipMirrorsColumns() {
        RawImage image = randomRgb(8, 8, 13);
        RandomResizedCrop crop = new RandomResizedCrop(8, 1.0, true, NORM);
        boolean sawFlip = false;
        for (int seed = 0; seed < 20 && !sawFlip; seed++) {
            float[] out = new float[3 * 64];
            crop.apply(image, new Random(seed), out, 0);
            if (Math.abs(out[0] - normalized(image, 7, 0, 0)) < 1e-5f
                    && Math.abs(out[7] - normalized(image, 0, 0, 0)) < 1e-5f) {
                sawFlip = true;
            }
        }
        assertEquals(true, sawFlip, "half of the crops are mirrored");
    }

    @Test
    void badArgumentsAreNamed() {
        assertThrows(IllegalArgumentException.class, () -> new RandomResizedCrop(8, 0, true, NORM));
        assertThrows(IllegalArgumentException.class, () -> new CenterCrop(0, 1, NORM));
        assertThrows(IllegalArgumentException.class, () -> new CenterCrop(8, 1.5, NORM));
        assertThrows(IllegalArgumentException.class, () -> new RawImage(2, 2, 2, new byte[8]));
    }
}

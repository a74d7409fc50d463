package ai.natten.app.data;

import java.util.Random;

/**
 * One batch in host memory, ready to copy to a device.
 *
 * @param pixels {@code [size, 3, imageSize, imageSize]} normalized floats
 * @param labels {@code [size]} class indices
 * @param imageSize the side of every image
 */
public record HostBatch(float[] pixels, int[] labels, int imageSize) {

    /**
     * Returns a batch of standard normal pixels and labels uniform in {@code [0, classes)}, drawn
     * from {@code seed} (pixels first): for benchmarks and tests.
     */
    public static HostBatch random(int size, int imageSize, int classes, long seed) {
        Random random = new Random(seed);
        float[] pixels = new float[size * 3 * imageSize * imageSize];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) random.nextGaussian();
        }
        int[] labels = new int[size];
        for (int i = 0; i < size; i++) {
            labels[i] = random.nextInt(classes);
        }
        return new HostBatch(pixels, labels, imageSize);
    }

    /** Returns the number of images. */
    public int size() {
        return labels.length;
    }
}

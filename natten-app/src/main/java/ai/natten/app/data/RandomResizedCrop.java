package ai.natten.app.data;

import java.util.Random;

/**
 * The training augmentation of the ImageNet recipe: a random crop covering a fraction {@code
 * [minScale, 1]} of the area with aspect ratio in {@code [3/4, 4/3]} (log-uniform), resized to
 * {@code size x size}, mirrored left-right with probability 1/2, normalized. Ten tries to fit the
 * crop, then the central crop of the clamped ratio, as torchvision does.
 */
public final class RandomResizedCrop implements ImageTransform {

    private static final double MIN_RATIO = 3.0 / 4.0;
    private static final double MAX_RATIO = 4.0 / 3.0;
    private static final int ATTEMPTS = 10;

    private final int size;
    private final double minScale;
    private final boolean flip;
    private final Normalization normalization;

    /**
     * Creates the augmentation.
     *
     * @param size the output side, at least 1
     * @param minScale the smallest area fraction, in (0, 1]
     * @param flip whether to mirror half of the images
     * @param normalization the per-channel normalization
     */
    public RandomResizedCrop(int size, double minScale, boolean flip, Normalization normalization) {
        if (size < 1) {
            throw new IllegalArgumentException("size must be at least 1, got " + size);
        }
        if (!(minScale > 0 && minScale <= 1)) {
            throw new IllegalArgumentException("minScale must be in (0, 1], got " + minScale);
        }
        this.size = size;
        this.minScale = minScale;
        this.flip = flip;
        this.normalization = normalization;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void apply(RawImage image, Random random, float[] out, int offset) {
        int width = image.width();
        int height = image.height();
        double area = (double) width * height;
        double cropWidth = 0;
        double cropHeight = 0;
        double left = 0;
        double top = 0;
        boolean found = false;
        for (int attempt = 0; attempt < ATTEMPTS && !found; attempt++) {
            double target = area * (minScale + (1 - minScale) * random.nextDouble());
            double logRatio =
                    Math.log(MIN_RATIO)
                            + (Math.log(MAX_RATIO) - Math.log(MIN_RATIO)) * random.nextDouble();
            double ratio = Math.exp(logRatio);
            int w = (int) Math.round(Math.sqrt(target * ratio));
            int h = (int) Math.round(Math.sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height) {
                cropWidth = w;
                cropHeight = h;
                left = random.nextInt(width - w + 1);
                top = random.nextInt(height - h + 1);
                found = true;
            }
        }
        if (!found) {
            double ratio = (double) width / height;
            if (ratio < MIN_RATIO) {
                cropWidth = width;
                cropHeight = Math.round(width / MIN_RATIO);
            } else if (ratio > MAX_RATIO) {
                cropHeight = height;
                cropWidth = Math.round(height * MAX_RATIO);
            } else {
                cropWidth = width;
                cropHeight = height;
            }
            left = (width - cropWidth) / 2;
            top = (height - cropHeight) / 2;
        }
        boolean mirror = flip && random.nextBoolean();
        CropResampler.resample(
                image, left, top, cropWidth, cropHeight, size, mirror, normalization, out, offset);
    }
}

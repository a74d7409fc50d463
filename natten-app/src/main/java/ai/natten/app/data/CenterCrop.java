package ai.natten.app.data;

import java.util.Random;

/**
 * The evaluation transform of the ImageNet recipe: resize the shorter side to {@code size /
 * cropFraction}, take the central {@code size x size} square, normalize. A crop fraction of 1
 * resizes the shorter side straight to {@code size}.
 */
public final class CenterCrop implements ImageTransform {

    private final int size;
    private final double cropFraction;
    private final Normalization normalization;

    /**
     * Creates the transform.
     *
     * @param size the output side, at least 1
     * @param cropFraction the central fraction kept, in (0, 1] (ImageNet uses 0.875)
     * @param normalization the per-channel normalization
     */
    public CenterCrop(int size, double cropFraction, Normalization normalization) {
        if (size < 1) {
            throw new IllegalArgumentException("size must be at least 1, got " + size);
        }
        if (!(cropFraction > 0 && cropFraction <= 1)) {
            throw new IllegalArgumentException(
                    "cropFraction must be in (0, 1], got " + cropFraction);
        }
        this.size = size;
        this.cropFraction = cropFraction;
        this.normalization = normalization;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void apply(RawImage image, Random random, float[] out, int offset) {
        double side = Math.min(image.width(), image.height()) * cropFraction;
        double left = (image.width() - side) / 2;
        double top = (image.height() - side) / 2;
        CropResampler.resample(
                image, left, top, side, side, size, false, normalization, out, offset);
    }
}

package ai.natten.app.data;

import java.util.Arrays;

/**
 * Per-channel normalization of RGB values in [0, 1]: {@code (value - mean[c]) / std[c]}.
 *
 * @param mean three channel means
 * @param std three positive channel standard deviations
 */
public record Normalization(float[] mean, float[] std) {

    /** The ImageNet statistics used by NAT/DiNAT checkpoints. */
    public static final Normalization IMAGENET =
            new Normalization(
                    new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});

    /** Checks three channels and positive deviations. */
    public Normalization {
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 channels each");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("std must be positive, got " + s);
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The same mean and deviation on every channel (grey datasets). */
    public static Normalization uniform(float mean, float std) {
        return new Normalization(new float[] {mean, mean, mean}, new float[] {std, std, std});
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n
                && Arrays.equals(mean, n.mean)
                && Arrays.equals(std, n.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "mean " + Arrays.toString(mean) + " std " + Arrays.toString(std);
    }
}

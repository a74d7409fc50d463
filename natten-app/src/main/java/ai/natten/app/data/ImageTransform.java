package ai.natten.app.data;

import java.util.Random;

/**
 * Turns a decoded image into the model's input: {@code [3, size, size]} normalized floats.
 * Implementations are stateless; any randomness comes from the {@link Random} passed in, so a
 * seeded generator reproduces the output exactly.
 */
public interface ImageTransform {

    /** Returns the output side length. */
    int size();

    /**
     * Writes {@code 3 * size() * size()} floats, channels-first.
     *
     * @param image the decoded image
     * @param random the source of randomness (unused by deterministic transforms)
     * @param out the destination
     * @param offset the index of the first float written
     */
    void apply(RawImage image, Random random, float[] out, int offset);
}

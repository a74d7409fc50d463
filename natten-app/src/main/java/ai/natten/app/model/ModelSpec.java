package ai.natten.app.model;

import ai.natten.djl.NaBackend;

/**
 * Everything needed to rebuild a classifier Block: a registered architecture and its variable
 * settings. Saved with every model so it can be rebuilt before its parameters are loaded.
 *
 * @param architecture a name known to {@link ModelRegistry}, e.g. {@code nat-mini}
 * @param classes the number of output classes, at least 2
 * @param imageSize the input side in pixels (inputs are {@code [B, 3, imageSize, imageSize]})
 * @param dropPath the stochastic depth rate of the deepest block, in [0, 1)
 * @param backend the neighborhood attention implementation
 */
public record ModelSpec(
        String architecture, int classes, int imageSize, float dropPath, NaBackend backend) {

    /** Checks the ranges. */
    public ModelSpec {
        if (architecture == null || architecture.isBlank()) {
            throw new IllegalArgumentException("model architecture must be named");
        }
        if (classes < 2) {
            throw new IllegalArgumentException("classes must be at least 2, got " + classes);
        }
        if (imageSize < 1) {
            throw new IllegalArgumentException("image size must be positive, got " + imageSize);
        }
        if (!(dropPath >= 0 && dropPath < 1)) {
            throw new IllegalArgumentException("drop path must be in [0, 1), got " + dropPath);
        }
        if (backend == null) {
            backend = NaBackend.AUTO;
        }
    }
}

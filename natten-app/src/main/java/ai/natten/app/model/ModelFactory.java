package ai.natten.app.model;

import ai.djl.nn.Block;

/**
 * Builds an uninitialized classifier Block: {@code [B, 3, S, S]} images to {@code [B, K]} logits.
 */
@FunctionalInterface
public interface ModelFactory {

    /**
     * Builds the Block.
     *
     * @param spec the class count, input size, drop path and backend
     * @return a new, uninitialized Block
     * @throws IllegalArgumentException when the architecture cannot take the spec (e.g. a size it
     *     cannot downsample)
     */
    Block create(ModelSpec spec);
}

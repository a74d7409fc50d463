package ai.natten.djl.nn;

/**
 * 2-D multi-head neighborhood self-attention: input and output {@code [B, X, Y, C]}.
 *
 * <pre>{@code
 * NeighborhoodAttention2d attention =
 *         NeighborhoodAttention2d.builder().setEmbedDim(64).setHeads(4).setKernelSize(7).build();
 * }</pre>
 *
 * @see NeighborhoodAttentionBlock
 */
public final class NeighborhoodAttention2d extends NeighborhoodAttentionBlock {

    private NeighborhoodAttention2d(Builder builder) {
        super(2, builder);
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link NeighborhoodAttention2d}. */
    public static final class Builder extends NeighborhoodAttentionBlock.Builder<Builder> {

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** Returns the block; throws {@link IllegalArgumentException} on invalid settings. */
        public NeighborhoodAttention2d build() {
            validate();
            return new NeighborhoodAttention2d(this);
        }
    }
}

package ai.natten.djl.nn;

/**
 * 3-D multi-head neighborhood self-attention: input and output {@code [B, X, Y, Z, C]}.
 *
 * <pre>{@code
 * NeighborhoodAttention3d attention =
 *         NeighborhoodAttention3d.builder().setEmbedDim(64).setHeads(4).setKernelSize(7).build();
 * }</pre>
 *
 * @see NeighborhoodAttentionBlock
 */
public final class NeighborhoodAttention3d extends NeighborhoodAttentionBlock {

    private NeighborhoodAttention3d(Builder builder) {
        super(3, builder);
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link NeighborhoodAttention3d}. */
    public static final class Builder extends NeighborhoodAttentionBlock.Builder<Builder> {

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** Returns the block; throws {@link IllegalArgumentException} on invalid settings. */
        public NeighborhoodAttention3d build() {
            validate();
            return new NeighborhoodAttention3d(this);
        }
    }
}

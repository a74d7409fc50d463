package ai.natten.djl.nn;

/**
 * 1-D multi-head neighborhood self-attention: input and output {@code [B, X, C]}.
 *
 * <pre>{@code
 * NeighborhoodAttention1d attention =
 *         NeighborhoodAttention1d.builder().setEmbedDim(64).setHeads(4).setKernelSize(7).build();
 * }</pre>
 *
 * @see NeighborhoodAttentionBlock
 */
public final class NeighborhoodAttention1d extends NeighborhoodAttentionBlock {

    private NeighborhoodAttention1d(Builder builder) {
        super(1, builder);
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link NeighborhoodAttention1d}. */
    public static final class Builder extends NeighborhoodAttentionBlock.Builder<Builder> {

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** Returns the block; throws {@link IllegalArgumentException} on invalid settings. */
        public NeighborhoodAttention1d build() {
            validate();
            return new NeighborhoodAttention1d(this);
        }
    }
}

package ai.natten.djl;

import ai.djl.ndarray.NDArray;

/**
 * Optional inputs of a neighborhood-attention call beyond q, k and v, and the backend choice.
 *
 * <ul>
 *   <li>relative positional bias {@code rpb}: {@code [heads, 2k0-1 (, 2k1-1 (, 2k2-1))]}, added to
 *       the logit of each query and neighbour (not with causal);
 *   <li>additional keys and values {@code [B, T, kvHeads, D]} that every query attends to besides
 *       its neighbours;
 *   <li>attention dropout on the softmax weights (training only, default none);
 *   <li>the {@link NaBackend} (default {@link NaBackend#AUTO}).
 * </ul>
 */
public final class NaExtras {

    /** No bias, no additional tokens, automatic backend. */
    public static final NaExtras NONE = builder().build();

    private final NDArray rpb;
    private final NDArray additionalK;
    private final NDArray additionalV;
    private final NaBackend backend;
    private final float attentionDropout;

    private NaExtras(Builder builder) {
        this.rpb = builder.rpb;
        this.additionalK = builder.additionalK;
        this.additionalV = builder.additionalV;
        this.backend = builder.backend;
        this.attentionDropout = builder.attentionDropout;
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Returns the relative positional bias {@code [heads, 2k-1, ...]}, or null. */
    public NDArray rpb() {
        return rpb;
    }

    /** Returns the additional keys {@code [B, T, kvHeads, D]}, or null. */
    public NDArray additionalK() {
        return additionalK;
    }

    /** Returns the additional values {@code [B, T, kvHeads, D]}, or null. */
    public NDArray additionalV() {
        return additionalV;
    }

    /** Returns the backend choice. */
    public NaBackend backend() {
        return backend;
    }

    /**
     * Returns the probability with which each attention weight (after softmax) is zeroed, the
     * survivors scaled by {@code 1 / (1 - rate)}; 0 (the default) for none.
     */
    public float attentionDropout() {
        return attentionDropout;
    }

    /** Builds {@link NaExtras}; everything is optional. */
    public static final class Builder {

        private NDArray rpb;
        private NDArray additionalK;
        private NDArray additionalV;
        private NaBackend backend = NaBackend.AUTO;
        private float attentionDropout;

        private Builder() {}

        /** Sets the relative positional bias {@code [heads, 2k0-1, ...]}. */
        public Builder optRpb(NDArray rpb) {
            this.rpb = rpb;
            return this;
        }

        /** Sets additional keys and values {@code [B, T, kvHeads, D]} every query attends to. */
        public Builder optAdditionalKv(NDArray additionalK, NDArray additionalV) {
            if ((additionalK == null) != (additionalV == null)) {
                throw new IllegalArgumentException(
                        "additional_k and additional_v must be given together");
            }
            this.additionalK = additionalK;
            this.additionalV = additionalV;
            return this;
        }

        /** Sets the backend (default {@link NaBackend#AUTO}). */
        public Builder optBackend(NaBackend backend) {
            if (backend == null) {
                throw new IllegalArgumentException("backend must not be null");
            }
            this.backend = backend;
            return this;
        }

        /**
         * Sets the attention dropout rate in {@code [0, 1)} (default 0): each attention weight is
         * zeroed with this probability and the survivors scaled by {@code 1 / (1 - rate)}. Only the
         * composite backend computes it; pass 0 outside training.
         */
        public Builder optAttentionDropout(float rate) {
            if (!(rate >= 0 && rate < 1)) {
                throw new IllegalArgumentException(
                        "attention dropout must be in [0, 1), got " + rate);
            }
            this.attentionDropout = rate;
            return this;
        }

        /** Returns the extras. */
        public NaExtras build() {
            return new NaExtras(this);
        }
    }
}

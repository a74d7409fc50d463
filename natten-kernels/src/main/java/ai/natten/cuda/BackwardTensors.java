package ai.natten.cuda;

/**
 * The device addresses of one backward call of {@link FusedNeighborhoodAttention}: the forward's
 * inputs and outputs, the output gradient, the gradients to write, and an optional workspace.
 * Layouts as in {@link FusedNeighborhoodAttention}; every gradient has the shape and dtype of its
 * input.
 *
 * <pre>{@code
 * BackwardTensors t = BackwardTensors.builder()
 *         .setInputs(q, k, v).setForward(out, lse).setOutputGradient(dOut)
 *         .setGradients(dq, dk, dv).build();
 * }</pre>
 */
public final class BackwardTensors {

    final long q;
    final long k;
    final long v;
    final long out;
    final long lse;
    final long dOut;
    final long dq;
    final long dk;
    final long dv;
    final long rpb;
    final long dRpb;
    final long additionalK;
    final long additionalV;
    final long dAdditionalK;
    final long dAdditionalV;
    final long workspace;

    private BackwardTensors(Builder b) {
        q = b.q;
        k = b.k;
        v = b.v;
        out = b.out;
        lse = b.lse;
        dOut = b.dOut;
        dq = b.dq;
        dk = b.dk;
        dv = b.dv;
        rpb = b.rpb;
        dRpb = b.dRpb;
        additionalK = b.additionalK;
        additionalV = b.additionalV;
        dAdditionalK = b.dAdditionalK;
        dAdditionalV = b.dAdditionalV;
        workspace = b.workspace;
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link BackwardTensors}; inputs, forward results and gradients are required. */
    public static final class Builder {
        private long q;
        private long k;
        private long v;
        private long out;
        private long lse;
        private long dOut;
        private long dq;
        private long dk;
        private long dv;
        private long rpb;
        private long dRpb;
        private long additionalK;
        private long additionalV;
        private long dAdditionalK;
        private long dAdditionalV;
        private long workspace;

        private Builder() {}

        /** Sets the forward inputs {@code q [B, *spatial, heads, D]}, {@code k}, {@code v}. */
        public Builder setInputs(long q, long k, long v) {
            this.q = q;
            this.k = k;
            this.v = v;
            return this;
        }

        /** Sets the forward's output and its float32 log-sum-exp {@code [B, *spatial, heads]}. */
        public Builder setForward(long out, long lse) {
            this.out = out;
            this.lse = lse;
            return this;
        }

        /** Sets the gradient of the loss with respect to the output. */
        public Builder setOutputGradient(long dOut) {
            this.dOut = dOut;
            return this;
        }

        /** Sets the gradients to write for {@code q}, {@code k}, {@code v}. */
        public Builder setGradients(long dq, long dk, long dv) {
            this.dq = dq;
            this.dk = dk;
            this.dv = dv;
            return this;
        }

        /** Sets the bias {@code [heads, 2k0-1, ...]} and its gradient to write. */
        public Builder optRpb(long rpb, long dRpb) {
            this.rpb = rpb;
            this.dRpb = dRpb;
            return this;
        }

        /** Sets the additional keys and values {@code [B, T, kvHeads, D]} and their gradients. */
        public Builder optAdditional(
                long additionalK, long additionalV, long dAdditionalK, long dAdditionalV) {
            this.additionalK = additionalK;
            this.additionalV = additionalV;
            this.dAdditionalK = dAdditionalK;
            this.dAdditionalV = dAdditionalV;
            return this;
        }

        /**
         * Sets a device workspace of at least {@link
         * FusedNeighborhoodAttention#backwardWorkspaceBytes} bytes, 16-byte aligned (as {@code
         * cuMemAlloc} returns; default: allocated and freed on the stream for each call).
         */
        public Builder optWorkspace(long workspace) {
            this.workspace = workspace;
            return this;
        }

        /** Returns the tensors. */
        public BackwardTensors build() {
            return new BackwardTensors(this);
        }
    }
}

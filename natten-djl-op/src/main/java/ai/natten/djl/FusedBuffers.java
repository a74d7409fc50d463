package ai.natten.djl;

/**
 * Device addresses of one fused call, as the engine extension hands them over: contiguous tensors
 * in the heads-last layout, 0 for an absent one. Forward reads q, k, v (rpb, additional k/v) and
 * writes out and the float32 log-sum-exp {@code [B, *spatial, heads]}; backward reads those and
 * dOut and writes the gradients, which start zeroed (the kernels may accumulate into them). Each
 * gradient has its input's shape and data type. The backward also gets scratch memory of {@link
 * FusedKernels#backwardWorkspaceBytes} bytes from PyTorch's allocator (0 if none).
 */
final class FusedBuffers {

    static final int Q = 0;
    static final int K = 1;
    static final int V = 2;
    static final int RPB = 3;
    static final int ADDITIONAL_K = 4;
    static final int ADDITIONAL_V = 5;
    static final int OUT = 6;
    static final int LSE = 7;
    static final int D_OUT = 8;
    static final int D_Q = 9;
    static final int D_K = 10;
    static final int D_V = 11;
    static final int D_RPB = 12;
    static final int D_ADDITIONAL_K = 13;
    static final int D_ADDITIONAL_V = 14;
    static final int WORKSPACE = 15;
    static final int COUNT = 16;

    private final long[] addresses;

    /** Wraps the address array of the extension (length {@link #COUNT}). */
    FusedBuffers(long[] addresses) {
        if (addresses == null || addresses.length != COUNT) {
            throw new IllegalArgumentException(
                    "addresses must hold " + COUNT + " slots, got " + describe(addresses));
        }
        this.addresses = addresses.clone();
    }

    private static String describe(long[] addresses) {
        return addresses == null ? "null" : addresses.length + " slots";
    }

    /** Returns the address in a slot (one of this class's constants), 0 if absent. */
    long get(int slot) {
        return addresses[slot];
    }

    long q() {
        return addresses[Q];
    }

    long k() {
        return addresses[K];
    }

    long v() {
        return addresses[V];
    }

    long rpb() {
        return addresses[RPB];
    }

    long additionalK() {
        return addresses[ADDITIONAL_K];
    }

    long additionalV() {
        return addresses[ADDITIONAL_V];
    }

    long out() {
        return addresses[OUT];
    }

    long lse() {
        return addresses[LSE];
    }

    long dOut() {
        return addresses[D_OUT];
    }

    long dq() {
        return addresses[D_Q];
    }

    long dk() {
        return addresses[D_K];
    }

    long dv() {
        return addresses[D_V];
    }

    long dRpb() {
        return addresses[D_RPB];
    }

    long dAdditionalK() {
        return addresses[D_ADDITIONAL_K];
    }

    long dAdditionalV() {
        return addresses[D_ADDITIONAL_V];
    }

    /** Returns the backward's scratch memory ({@link FusedKernels#backwardWorkspaceBytes}). */
    long workspace() {
        return addresses[WORKSPACE];
    }
}

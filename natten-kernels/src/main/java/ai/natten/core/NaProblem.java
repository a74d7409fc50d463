package ai.natten.core;

import java.util.Arrays;

/**
 * One neighborhood-attention problem of rank 1, 2 or 3: options bound to tensor shapes, validated.
 *
 * <p>Tensors use the heads-last layout of {@code shared/na-semantics.md}:
 *
 * <ul>
 *   <li>query and output {@code [B, *spatial, heads, D]}; key and value {@code [B, *spatial,
 *       kvHeads, D]} ({@code kvHeads} divides {@code heads}: grouped-query attention);
 *   <li>log-sum-exp {@code [B, *spatial, heads]}, float32;
 *   <li>relative positional bias (optional, not with causal) {@code [heads, 2k0-1, ...]};
 *   <li>additional key/value tokens (optional, seen by every query) {@code [B, T, kvHeads, D]}.
 * </ul>
 *
 * <p>A spatial position is addressed by its row-major flat index over the spatial axes, a "token".
 * The neighbour set of a query token is the Cartesian product of the per-axis sets of {@link
 * AxisWindow}, enumerated row-major.
 */
public final class NaProblem {

    private static final int MAX_RANK = 3;

    private final int batch;
    private final int[] spatial;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float scale;
    private final AxisWindow[] windows;
    private final boolean rpb;
    private final int additionalTokens;
    private final NaOptions options;

    private NaProblem(Builder b) {
        if (b.spatial == null || b.spatial.length < 1 || b.spatial.length > MAX_RANK) {
            throw new IllegalArgumentException(
                    "spatial size must have 1 to 3 axes, got "
                            + (b.spatial == null ? "none" : Arrays.toString(b.spatial)));
        }
        if (b.options == null) {
            throw new IllegalArgumentException("options are required");
        }
        positive("batch", b.batch);
        positive("heads", b.heads);
        positive("head_dim", b.headDim);
        int kv = b.kvHeads == 0 ? b.heads : b.kvHeads;
        positive("kv_heads", kv);
        if (b.heads % kv != 0) {
            throw new IllegalArgumentException(
                    "heads must be a multiple of kv_heads, got heads = "
                            + b.heads
                            + ", kv_heads = "
                            + kv);
        }
        if (b.additionalTokens < 0) {
            throw new IllegalArgumentException(
                    "additional_tokens must be >= 0, got " + b.additionalTokens);
        }
        int rank = b.spatial.length;
        int[] kernel = b.options.kernelSize(rank);
        int[] dilation = b.options.dilation(rank);
        int[] stride = b.options.stride(rank);
        boolean[] causal = b.options.causal(rank);
        this.windows = new AxisWindow[rank];
        for (int axis = 0; axis < rank; axis++) {
            windows[axis] =
                    new AxisWindow(
                            axis,
                            b.spatial[axis],
                            kernel[axis],
                            dilation[axis],
                            stride[axis],
                            causal[axis]);
            if (b.rpb && causal[axis]) {
                throw new IllegalArgumentException(
                        "rpb (relative positional bias) cannot be used with causal, axis "
                                + axis
                                + " is causal");
            }
        }
        this.batch = b.batch;
        this.spatial = b.spatial.clone();
        this.heads = b.heads;
        this.kvHeads = kv;
        this.headDim = b.headDim;
        this.scale = b.options.scale(b.headDim);
        this.rpb = b.rpb;
        this.additionalTokens = b.additionalTokens;
        this.options = b.options;
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Validates tensor shapes against each other and the options, and returns the problem.
     *
     * @param options the options
     * @param q query shape {@code [B, *spatial, heads, D]}
     * @param k key shape {@code [B, *spatial, kvHeads, D]}
     * @param v value shape, equal to {@code k}
     * @param rpb bias shape {@code [heads, 2k0-1, ...]}, or null for none
     * @param additionalK additional key shape {@code [B, T, kvHeads, D]}, or null for none
     * @param additionalV additional value shape, equal to {@code additionalK}, or null
     * @return the problem
     * @throws IllegalArgumentException naming the argument whose shape is wrong and why
     */
    public static NaProblem fromShapes(
            NaOptions options,
            long[] q,
            long[] k,
            long[] v,
            long[] rpb,
            long[] additionalK,
            long[] additionalV) {
        if (q.length < 4 || q.length > 3 + MAX_RANK) {
            throw new IllegalArgumentException(
                    "q must be [B, *spatial, heads, D] with 1 to 3 spatial axes, got shape "
                            + Arrays.toString(q));
        }
        int rank = q.length - 3;
        if (k.length != q.length) {
            throw new IllegalArgumentException(
                    "k must have the rank of q "
                            + Arrays.toString(q)
                            + ", got "
                            + Arrays.toString(k));
        }
        for (int axis = 0; axis <= rank; axis++) {
            if (k[axis] != q[axis]) {
                throw new IllegalArgumentException(
                        "k must match q in batch and spatial sizes: q "
                                + Arrays.toString(q)
                                + ", k "
                                + Arrays.toString(k));
            }
        }
        if (k[rank + 2] != q[rank + 2]) {
            throw new IllegalArgumentException(
                    "k must have the head dim of q: q "
                            + Arrays.toString(q)
                            + ", k "
                            + Arrays.toString(k));
        }
        if (!Arrays.equals(k, v)) {
            throw new IllegalArgumentException(
                    "v must have the shape of k "
                            + Arrays.toString(k)
                            + ", got "
                            + Arrays.toString(v));
        }
        int[] spatial = new int[rank];
        for (int axis = 0; axis < rank; axis++) {
            spatial[axis] = toInt("q spatial axis " + axis, q[axis + 1]);
        }
        Builder builder =
                builder()
                        .setOptions(options)
                        .setBatch(toInt("batch", q[0]))
                        .setSpatialSize(spatial)
                        .setHeads(toInt("heads", q[rank + 1]))
                        .optKvHeads(toInt("kv_heads", k[rank + 1]))
                        .setHeadDim(toInt("head_dim", q[rank + 2]));
        if ((additionalK == null) != (additionalV == null)) {
            throw new IllegalArgumentException(
                    "additional_k and additional_v must be given together");
        }
        if (additionalK != null) {
            if (additionalK.length != 4
                    || additionalK[0] != q[0]
                    || additionalK[2] != k[rank + 1]
                    || additionalK[3] != q[rank + 2]) {
                throw new IllegalArgumentException(
                        "additional_k must be [B, T, kv_heads, D] = ["
                                + q[0]
                                + ", T, "
                                + k[rank + 1]
                                + ", "
                                + q[rank + 2]
                                + "], got "
                                + Arrays.toString(additionalK));
            }
            if (!Arrays.equals(additionalK, additionalV)) {
                throw new IllegalArgumentException(
                        "additional_v must have the shape of additional_k "
                                + Arrays.toString(additionalK)
                                + ", got "
                                + Arrays.toString(additionalV));
            }
            builder.optAdditionalTokens(toInt("additional tokens", additionalK[1]));
        }
        NaProblem problem = builder.optRpb(rpb != null).build();
        if (rpb != null && !Arrays.equals(rpb, problem.rpbShape())) {
            throw new IllegalArgumentException(
                    "rpb must be "
                            + Arrays.toString(problem.rpbShape())
                            + " ([heads, 2k-1 per axis]), got "
                            + Arrays.toString(rpb));
        }
        return problem;
    }

    /** Returns the number of spatial axes (1, 2 or 3). */
    public int rank() {
        return spatial.length;
    }

    /** Returns the batch size B. */
    public int batch() {
        return batch;
    }

    /** Returns the size of spatial axis {@code axis}. */
    public int spatialSize(int axis) {
        return spatial[axis];
    }

    /** Returns a copy of the spatial sizes. */
    public int[] spatialSizes() {
        return spatial.clone();
    }

    /** Returns the number of spatial positions (tokens) per batch entry and head. */
    public int tokens() {
        int n = 1;
        for (int size : spatial) {
            n *= size;
        }
        return n;
    }

    /** Returns the number of query heads. */
    public int heads() {
        return heads;
    }

    /** Returns the number of key/value heads (divides {@link #heads()}). */
    public int kvHeads() {
        return kvHeads;
    }

    /** Returns the key/value head that query head {@code head} reads. */
    public int kvHead(int head) {
        return head / (heads / kvHeads);
    }

    /** Returns the head dimension D. */
    public int headDim() {
        return headDim;
    }

    /** Returns the softmax scale applied to the dot products. */
    public float scale() {
        return scale;
    }

    /** Returns the window rule of spatial axis {@code axis}. */
    public AxisWindow window(int axis) {
        return windows[axis];
    }

    /** Returns whether a relative positional bias is part of the problem. */
    public boolean hasRpb() {
        return rpb;
    }

    /** Returns the number of additional key/value tokens every query attends to. */
    public int additionalTokens() {
        return additionalTokens;
    }

    /** Returns the options this problem was built from. */
    public NaOptions options() {
        return options;
    }

    /** Returns the largest neighbourhood size, the product of the kernel sizes. */
    public int maxNeighbours() {
        int n = 1;
        for (AxisWindow window : windows) {
            n *= window.kernel();
        }
        return n;
    }

    /** Returns the spatial coordinates of a token. */
    public int[] coordinates(int token) {
        int[] c = new int[spatial.length];
        for (int axis = spatial.length - 1; axis >= 0; axis--) {
            c[axis] = token % spatial[axis];
            token /= spatial[axis];
        }
        return c;
    }

    /** Returns the token of spatial coordinates {@code c}. */
    public int token(int[] c) {
        int token = 0;
        for (int axis = 0; axis < spatial.length; axis++) {
            token = token * spatial[axis] + c[axis];
        }
        return token;
    }

    /**
     * Returns the neighbour tokens of a query token, row-major over the axes (so ascending).
     *
     * @param queryToken the query's flat spatial index
     * @return the key tokens the query attends to (excluding additional tokens)
     */
    public int[] neighbourTokens(int queryToken) {
        int[] c = coordinates(queryToken);
        int[] result = {0};
        for (int axis = 0; axis < spatial.length; axis++) {
            int[] axisNeighbours = windows[axis].neighbours(c[axis]);
            int[] next = new int[result.length * axisNeighbours.length];
            int n = 0;
            for (int prefix : result) {
                for (int j : axisNeighbours) {
                    next[n++] = prefix * spatial[axis] + j;
                }
            }
            result = next;
        }
        return result;
    }

    /** Returns the shape of rpb: {@code [heads, 2k0-1, ...]}. */
    public long[] rpbShape() {
        long[] shape = new long[spatial.length + 1];
        shape[0] = heads;
        for (int axis = 0; axis < spatial.length; axis++) {
            shape[axis + 1] = 2L * windows[axis].kernel() - 1;
        }
        return shape;
    }

    /** Returns the number of rpb entries of one head, the product of {@code 2k-1} over axes. */
    public int rpbSizePerHead() {
        int n = 1;
        for (AxisWindow window : windows) {
            n *= 2 * window.kernel() - 1;
        }
        return n;
    }

    /**
     * Returns the flat offset, within one head's bias table, of the bias between a query and one of
     * its neighbours: per axis {@code (j - i) / d + k - 1}, row-major.
     */
    public int rpbOffset(int queryToken, int keyToken) {
        int[] qc = coordinates(queryToken);
        int[] kc = coordinates(keyToken);
        int offset = 0;
        for (int axis = 0; axis < spatial.length; axis++) {
            AxisWindow w = windows[axis];
            offset =
                    offset * (2 * w.kernel() - 1)
                            + (kc[axis] - qc[axis]) / w.dilation()
                            + w.kernel()
                            - 1;
        }
        return offset;
    }

    /** Returns the query/output shape {@code [B, *spatial, heads, D]}. */
    public long[] queryShape() {
        return tokenShape(heads, true);
    }

    /** Returns the key/value shape {@code [B, *spatial, kvHeads, D]}. */
    public long[] kvShape() {
        return tokenShape(kvHeads, true);
    }

    /** Returns the log-sum-exp shape {@code [B, *spatial, heads]}. */
    public long[] lseShape() {
        return tokenShape(heads, false);
    }

    /** Returns the additional key/value shape {@code [B, T, kvHeads, D]}. */
    public long[] additionalKvShape() {
        return new long[] {batch, additionalTokens, kvHeads, headDim};
    }

    private long[] tokenShape(int headCount, boolean withHeadDim) {
        long[] shape = new long[spatial.length + (withHeadDim ? 3 : 2)];
        shape[0] = batch;
        for (int axis = 0; axis < spatial.length; axis++) {
            shape[axis + 1] = spatial[axis];
        }
        shape[spatial.length + 1] = headCount;
        if (withHeadDim) {
            shape[spatial.length + 2] = headDim;
        }
        return shape;
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + value);
        }
    }

    private static int toInt(String name, long value) {
        if (value < 1 || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    name + " must be in [1, " + Integer.MAX_VALUE + "], got " + value);
        }
        return (int) value;
    }

    @Override
    public String toString() {
        return "NaProblem{B="
                + batch
                + ", spatial="
                + Arrays.toString(spatial)
                + ", heads="
                + heads
                + (kvHeads != heads ? ", kv_heads=" + kvHeads : "")
                + ", D="
                + headDim
                + ", windows="
                + Arrays.toString(windows)
                + (rpb ? ", rpb" : "")
                + (additionalTokens > 0 ? ", additional_tokens=" + additionalTokens : "")
                + "}";
    }

    /** Builds {@link NaProblem}; validation happens in {@link #build()}. */
    public static final class Builder {

        private int batch;
        private int[] spatial;
        private int heads;
        private int kvHeads;
        private int headDim;
        private NaOptions options;
        private boolean rpb;
        private int additionalTokens;

        private Builder() {}

        /** Sets the options (required). */
        public Builder setOptions(NaOptions options) {
            this.options = options;
            return this;
        }

        /** Sets the batch size (required). */
        public Builder setBatch(int batch) {
            this.batch = batch;
            return this;
        }

        /** Sets the spatial sizes, 1 to 3 axes (required). */
        public Builder setSpatialSize(int... spatial) {
            this.spatial = spatial == null ? null : spatial.clone();
            return this;
        }

        /** Sets the number of query heads (required). */
        public Builder setHeads(int heads) {
            this.heads = heads;
            return this;
        }

        /** Sets the number of key/value heads (default: the query heads). */
        public Builder optKvHeads(int kvHeads) {
            this.kvHeads = kvHeads;
            return this;
        }

        /** Sets the head dimension D (required). */
        public Builder setHeadDim(int headDim) {
            this.headDim = headDim;
            return this;
        }

        /** Sets whether a relative positional bias is used (default false). */
        public Builder optRpb(boolean rpb) {
            this.rpb = rpb;
            return this;
        }

        /** Sets the number of additional key/value tokens (default 0). */
        public Builder optAdditionalTokens(int additionalTokens) {
            this.additionalTokens = additionalTokens;
            return this;
        }

        /** Returns the validated problem. */
        public NaProblem build() {
            return new NaProblem(this);
        }
    }
}

package ai.natten.core;

/**
 * The neighbourhood rule of one spatial axis, exactly as {@code shared/na-semantics.md} defines it.
 *
 * <p>An axis of length {@code L} is split into {@code d} dilation groups; query {@code i} lies in
 * group {@code g = i % d} at group index {@code i' = i / d}, and its neighbours are the keys of the
 * same group whose group index lies in {@code [start(i), end(i))}. All index math of the project
 * (reference, composite backend, kernel launch planning) goes through this class.
 *
 * <p>Instances are immutable and validated on construction.
 */
public final class AxisWindow {

    private final int length;
    private final int kernel;
    private final int dilation;
    private final int stride;
    private final boolean causal;

    /**
     * Creates the window rule of one axis.
     *
     * @param axis the axis number, used only in error messages
     * @param length the axis length {@code L >= 1}
     * @param kernel the kernel size {@code k >= 2}
     * @param dilation the dilation {@code d >= 1}, with {@code k * d <= L}
     * @param stride the stride {@code s}, {@code 1 <= s <= k}
     * @param causal whether a query sees only keys at or before itself on this axis
     * @throws IllegalArgumentException naming the violated constraint, the axis and the values
     */
    public AxisWindow(int axis, int length, int kernel, int dilation, int stride, boolean causal) {
        if (length < 1) {
            throw new IllegalArgumentException(
                    "spatial size on axis " + axis + " must be >= 1, got " + length);
        }
        if (kernel < 2) {
            throw new IllegalArgumentException(
                    "kernel_size on axis " + axis + " must be >= 2, got " + kernel);
        }
        if (dilation < 1) {
            throw new IllegalArgumentException(
                    "dilation on axis " + axis + " must be >= 1, got " + dilation);
        }
        if ((long) kernel * dilation > length) {
            throw new IllegalArgumentException(
                    "kernel_size * dilation must be <= the spatial size on axis "
                            + axis
                            + ", got "
                            + kernel
                            + " * "
                            + dilation
                            + " > "
                            + length);
        }
        if (stride < 1 || stride > kernel) {
            throw new IllegalArgumentException(
                    "stride on axis "
                            + axis
                            + " must be in [1, kernel_size = "
                            + kernel
                            + "], got "
                            + stride);
        }
        this.length = length;
        this.kernel = kernel;
        this.dilation = dilation;
        this.stride = stride;
        this.causal = causal;
    }

    /** Returns the axis length {@code L}. */
    public int length() {
        return length;
    }

    /** Returns the kernel size {@code k}. */
    public int kernel() {
        return kernel;
    }

    /** Returns the dilation {@code d}. */
    public int dilation() {
        return dilation;
    }

    /** Returns the stride {@code s}. */
    public int stride() {
        return stride;
    }

    /** Returns whether the axis is causal. */
    public boolean causal() {
        return causal;
    }

    /** Returns the dilation group of spatial index {@code i}. */
    public int group(int i) {
        return i % dilation;
    }

    /**
     * Returns the number of tokens in dilation group {@code g}; the first {@code L % d} are longer.
     */
    public int groupLength(int g) {
        return length / dilation + (g < length % dilation ? 1 : 0);
    }

    /** Returns the spatial index of group index {@code j'} in group {@code g}. */
    public int spatialIndex(int g, int groupIndex) {
        return groupIndex * dilation + g;
    }

    /** Returns the first neighbour's group index for query {@code i} (a spatial index). */
    public int start(int i) {
        int qi = i / dilation;
        int groupLength = groupLength(group(i));
        if (causal) {
            int leader = Math.min((qi / stride) * stride + stride - 1, groupLength - 1);
            return Math.max(leader - (kernel - 1), 0);
        }
        int left = kernel / 2;
        int right = kernel / 2 + (kernel % 2) - 1;
        int leader = Math.min((qi / stride) * stride + stride / 2, groupLength - 1);
        return Math.max(left, Math.min(leader, groupLength - 1 - right)) - left;
    }

    /** Returns one past the last neighbour's group index for query {@code i} (a spatial index). */
    public int end(int i) {
        if (causal) {
            return Math.min(i / dilation + 1, groupLength(group(i)));
        }
        return start(i) + kernel;
    }

    /** Returns whether key {@code j} is a neighbour of query {@code i} on this axis. */
    public boolean contains(int i, int j) {
        if (group(i) != group(j)) {
            return false;
        }
        int kj = j / dilation;
        return kj >= start(i) && kj < end(i);
    }

    /** Returns the spatial indices of the neighbours of query {@code i}, ascending. */
    public int[] neighbours(int i) {
        int g = group(i);
        int start = start(i);
        int[] result = new int[end(i) - start];
        for (int n = 0; n < result.length; n++) {
            result[n] = spatialIndex(g, start + n);
        }
        return result;
    }

    @Override
    public String toString() {
        return "AxisWindow{L="
                + length
                + ", k="
                + kernel
                + ", d="
                + dilation
                + ", s="
                + stride
                + (causal ? ", causal" : "")
                + "}";
    }
}

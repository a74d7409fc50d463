package ai.natten.core;

import java.util.Arrays;

/**
 * The shape-independent options of a neighborhood-attention call: kernel size, dilation, stride and
 * causality per axis, and the softmax scale.
 *
 * <p>Each per-axis option is given either once (it then applies to every axis) or once per axis.
 * Options are bound to a rank and shapes by {@link NaProblem}, which validates them.
 *
 * <pre>{@code
 * NaOptions options = NaOptions.builder().setKernelSize(7).optDilation(2, 1).build();
 * }</pre>
 */
public final class NaOptions {

    private final int[] kernelSize;
    private final int[] dilation;
    private final int[] stride;
    private final boolean[] causal;
    private final Float scale;

    private NaOptions(Builder builder) {
        this.kernelSize = builder.kernelSize;
        this.dilation = builder.dilation;
        this.stride = builder.stride;
        this.causal = builder.causal;
        this.scale = builder.scale;
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Returns the kernel size of every axis of a problem of the given rank. */
    public int[] kernelSize(int rank) {
        return broadcast("kernel_size", kernelSize, rank);
    }

    /** Returns the dilation of every axis of a problem of the given rank. */
    public int[] dilation(int rank) {
        return broadcast("dilation", dilation, rank);
    }

    /** Returns the stride of every axis of a problem of the given rank. */
    public int[] stride(int rank) {
        return broadcast("stride", stride, rank);
    }

    /** Returns the causal flag of every axis of a problem of the given rank. */
    public boolean[] causal(int rank) {
        checkArity("causal", causal.length, rank);
        boolean[] result = new boolean[rank];
        for (int axis = 0; axis < rank; axis++) {
            result[axis] = causal[causal.length == 1 ? 0 : axis];
        }
        return result;
    }

    /** Returns the softmax scale for head dimension {@code headDim}: the set one or D^-0.5. */
    public float scale(int headDim) {
        return scale != null ? scale : (float) (1.0 / Math.sqrt(headDim));
    }

    private static int[] broadcast(String name, int[] values, int rank) {
        checkArity(name, values.length, rank);
        int[] result = new int[rank];
        for (int axis = 0; axis < rank; axis++) {
            result[axis] = values[values.length == 1 ? 0 : axis];
        }
        return result;
    }

    private static void checkArity(String name, int given, int rank) {
        if (given != 1 && given != rank) {
            throw new IllegalArgumentException(
                    name
                            + " must have 1 value or one per spatial axis ("
                            + rank
                            + "), got "
                            + given);
        }
    }

    @Override
    public String toString() {
        return "NaOptions{kernel_size="
                + Arrays.toString(kernelSize)
                + ", dilation="
                + Arrays.toString(dilation)
                + ", stride="
                + Arrays.toString(stride)
                + ", causal="
                + Arrays.toString(causal)
                + (scale == null ? "" : ", scale=" + scale)
                + "}";
    }

    /** Builds {@link NaOptions}; the kernel size is required, everything else optional. */
    public static final class Builder {

        private int[] kernelSize;
        private int[] dilation = {1};
        private int[] stride = {1};
        private boolean[] causal = {false};
        private Float scale;

        private Builder() {}

        /** Sets the kernel size: one value for all axes or one per axis (required). */
        public Builder setKernelSize(int... kernelSize) {
            this.kernelSize = nonEmpty("kernel_size", kernelSize);
            return this;
        }

        /** Sets the dilation: one value for all axes or one per axis (default 1). */
        public Builder optDilation(int... dilation) {
            this.dilation = nonEmpty("dilation", dilation);
            return this;
        }

        /** Sets the stride: one value for all axes or one per axis (default 1). */
        public Builder optStride(int... stride) {
            this.stride = nonEmpty("stride", stride);
            return this;
        }

        /** Sets causality: one flag for all axes or one per axis (default false). */
        public Builder optCausal(boolean... causal) {
            if (causal == null || causal.length == 0) {
                throw new IllegalArgumentException("causal must have at least one value");
            }
            this.causal = causal.clone();
            return this;
        }

        /** Sets the softmax scale (default {@code headDim^-0.5}); must be finite. */
        public Builder optScale(float scale) {
            if (!Float.isFinite(scale)) {
                throw new IllegalArgumentException("scale must be finite, got " + scale);
            }
            this.scale = scale;
            return this;
        }

        /** Returns the options. */
        public NaOptions build() {
            if (kernelSize == null) {
                throw new IllegalArgumentException("kernel_size is required");
            }
            return new NaOptions(this);
        }

        private static int[] nonEmpty(String name, int[] values) {
            if (values == null || values.length == 0) {
                throw new IllegalArgumentException(name + " must have at least one value");
            }
            return values.clone();
        }
    }
}

package ai.natten.djl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import ai.natten.core.NaOptions;
import ai.natten.djl.NaBackend;
import ai.natten.djl.NaExtras;
import ai.natten.djl.NeighborhoodAttention;
import java.util.Arrays;

/**
 * Multi-head neighborhood self-attention of any spatial rank (1 to 3), the layer of NAT and DiNAT:
 * a qkv projection, {@link NeighborhoodAttention#na} with optional relative positional bias and
 * attention dropout, an output projection and projection dropout.
 *
 * <p>Input and output are channels-last, {@code [B, *spatial, C]} with {@code C = embedDim}.
 * Parameters (named as in NATTEN's modules): {@code qkv} Linear {@code C -> 3C} (bias optional),
 * {@code proj} Linear {@code C -> C}, and {@code rpb} {@code [heads, 2k0-1, ...]} when the bias is
 * enabled. The qkv output is split as {@code [..., 3, heads, C / heads]}, as NATTEN does.
 *
 * <p>Use the rank-specific builders {@link NeighborhoodAttention1d#builder()}, {@link
 * NeighborhoodAttention2d#builder()} and {@link NeighborhoodAttention3d#builder()}.
 */
public abstract class NeighborhoodAttentionBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    private final int rank;
    private final int embedDim;
    private final int heads;
    private final NaOptions options;
    private final float attentionDropout;
    private final float projectionDropout;
    private final NaBackend backend;
    private final boolean padSmallInputs;
    private final Linear qkv;
    private final Linear proj;
    private final Parameter rpb;

    @SuppressWarnings("this-escape")
    protected NeighborhoodAttentionBlock(int rank, Builder<?> builder) {
        super(VERSION);
        this.rank = rank;
        this.embedDim = builder.embedDim;
        this.heads = builder.heads;
        this.attentionDropout = builder.attentionDropout;
        this.projectionDropout = builder.projectionDropout;
        this.backend = builder.backend;
        this.padSmallInputs = builder.padSmallInputs;
        NaOptions.Builder opts =
                NaOptions.builder()
                        .setKernelSize(builder.kernelSize)
                        .optDilation(builder.dilation)
                        .optStride(builder.stride)
                        .optCausal(builder.causal);
        if (builder.scale != null) {
            opts.optScale(builder.scale);
        }
        this.options = opts.build();
        // Surface per-axis arity errors at build time rather than at the first forward.
        options.kernelSize(rank);
        options.dilation(rank);
        options.stride(rank);
        options.causal(rank);
        this.qkv =
                addChildBlock(
                        "qkv",
                        Linear.builder().setUnits(3L * embedDim).optBias(builder.qkvBias).build());
        this.proj = addChildBlock("proj", Linear.builder().setUnits(embedDim).build());
        this.rpb =
                builder.relativePositionBias
                        ? addParameter(
                                Parameter.builder()
                                        .setName("rpb")
                                        .setType(Parameter.Type.OTHER)
                                        .optInitializer(new TruncatedNormalInitializer(0.02f))
                                        .build())
                        : null;
    }

    /** Returns the number of spatial axes (1, 2 or 3). */
    public int rank() {
        return rank;
    }

    /** Returns the channel count C of input and output. */
    public int embedDim() {
        return embedDim;
    }

    /** Returns the number of attention heads. */
    public int heads() {
        return heads;
    }

    /** Returns the kernel size, dilation, stride, causality and scale. */
    public NaOptions options() {
        return options;
    }

    /** Returns whether the block has a relative positional bias parameter. */
    public boolean hasRelativePositionBias() {
        return rpb != null;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        checkInput(x.getShape());
        long[] shape = x.getShape().getShape();
        long[] padded = paddedShape(shape);
        if (!Arrays.equals(padded, shape)) {
            x = x.pad(rightPadding(shape, padded), 0);
        }
        long[] qkvShape = new long[rank + 4];
        System.arraycopy(padded, 0, qkvShape, 0, rank + 1);
        qkvShape[rank + 1] = 3;
        qkvShape[rank + 2] = heads;
        qkvShape[rank + 3] = embedDim / heads;
        NDArray projected =
                qkv.forward(parameterStore, new NDList(x), training, params)
                        .singletonOrThrow()
                        .reshape(new Shape(qkvShape));
        NDList parts = projected.split(3, rank + 1);
        NaExtras.Builder extras = NaExtras.builder().optBackend(backend);
        if (rpb != null) {
            extras.optRpb(parameterStore.getValue(rpb, x.getDevice(), training));
        }
        if (training && attentionDropout > 0) {
            extras.optAttentionDropout(attentionDropout);
        }
        NDArray attended =
                NeighborhoodAttention.na(
                        parts.get(0).squeeze(rank + 1),
                        parts.get(1).squeeze(rank + 1),
                        parts.get(2).squeeze(rank + 1),
                        options,
                        extras.build());
        long[] merged = padded.clone();
        merged[rank + 1] = embedDim;
        NDArray out = attended.reshape(new Shape(merged));
        if (!Arrays.equals(padded, shape)) {
            out = out.get(crop(shape));
        }
        out = proj.forward(parameterStore, new NDList(out), training, params).singletonOrThrow();
        if (training && projectionDropout > 0) {
            out = Dropout.dropout(out, projectionDropout, true).singletonOrThrow();
        }
        return new NDList(out);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        checkInput(inputShapes[0]);
        return new Shape[] {inputShapes[0]};
    }

    /** {@inheritDoc} */
    @Override
    protected void beforeInitialize(Shape... inputShapes) {
        checkInput(inputShapes[0]);
        super.beforeInitialize(inputShapes);
    }

    /** {@inheritDoc} */
    @Override
    protected void prepare(Shape[] inputShapes) {
        if (rpb != null) {
            int[] kernel = options.kernelSize(rank);
            long[] shape = new long[rank + 1];
            shape[0] = heads;
            for (int axis = 0; axis < rank; axis++) {
                shape[axis + 1] = 2L * kernel[axis] - 1;
            }
            rpb.setShape(new Shape(shape));
        }
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape padded = new Shape(paddedShape(inputShapes[0].getShape()));
        qkv.initialize(manager, dataType, padded);
        proj.initialize(manager, dataType, padded);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return getClass().getSimpleName()
                + "{embedDim="
                + embedDim
                + ", heads="
                + heads
                + ", "
                + options
                + (rpb != null ? ", rpb" : "")
                + "}";
    }

    private void checkInput(Shape shape) {
        if (shape.dimension() != rank + 2) {
            throw new IllegalArgumentException(
                    getClass().getSimpleName()
                            + " expects input of rank "
                            + (rank + 2)
                            + " [B, "
                            + "X, Y, Z".substring(0, 3 * rank - 2)
                            + ", C], got shape "
                            + shape);
        }
        if (shape.get(rank + 1) != embedDim) {
            throw new IllegalArgumentException(
                    "input channels (last axis) must equal embedDim "
                            + embedDim
                            + ", got shape "
                            + shape);
        }
    }

    /** The input shape with every spatial axis shorter than kernel * dilation padded to it. */
    private long[] paddedShape(long[] shape) {
        long[] padded = shape.clone();
        if (padSmallInputs) {
            int[] kernel = options.kernelSize(rank);
            int[] dilation = options.dilation(rank);
            for (int axis = 0; axis < rank; axis++) {
                padded[axis + 1] = Math.max(shape[axis + 1], (long) kernel[axis] * dilation[axis]);
            }
        }
        return padded;
    }

    /** Padding in {@link NDArray#pad} order (last axis first, before/after pairs). */
    private Shape rightPadding(long[] shape, long[] padded) {
        long[] pairs = new long[2 * (rank + 1)];
        for (int axis = 0; axis < rank; axis++) {
            pairs[2 * (rank - axis) + 1] = padded[axis + 1] - shape[axis + 1];
        }
        return new Shape(pairs);
    }

    private NDIndex crop(long[] shape) {
        StringBuilder index = new StringBuilder(":");
        for (int axis = 0; axis < rank; axis++) {
            index.append(", :").append(shape[axis + 1]);
        }
        return new NDIndex(index.append(", :").toString());
    }

    /**
     * Builder shared by the rank-specific blocks; {@code setX} are required, {@code optX} optional.
     *
     * @param <T> the concrete builder
     */
    public abstract static class Builder<T extends Builder<T>> {

        private int embedDim;
        private int heads;
        private int[] kernelSize;
        private int[] dilation = {1};
        private int[] stride = {1};
        private boolean[] causal = {false};
        private Float scale;
        private boolean qkvBias = true;
        private boolean relativePositionBias;
        private float attentionDropout;
        private float projectionDropout;
        private NaBackend backend = NaBackend.AUTO;
        private boolean padSmallInputs;

        protected Builder() {}

        /** Returns this builder as its concrete type. */
        protected abstract T self();

        /** Sets the channel count C of input and output (required, a multiple of heads). */
        public T setEmbedDim(int embedDim) {
            this.embedDim = embedDim;
            return self();
        }

        /** Sets the number of attention heads (required). */
        public T setHeads(int heads) {
            this.heads = heads;
            return self();
        }

        /** Sets the kernel size: one value for all axes or one per axis (required, each >= 2). */
        public T setKernelSize(int... kernelSize) {
            this.kernelSize = kernelSize == null ? null : kernelSize.clone();
            return self();
        }

        /** Sets the dilation: one value for all axes or one per axis (default 1). */
        public T optDilation(int... dilation) {
            this.dilation = dilation == null ? null : dilation.clone();
            return self();
        }

        /** Sets the stride: one value for all axes or one per axis (default 1). */
        public T optStride(int... stride) {
            this.stride = stride == null ? null : stride.clone();
            return self();
        }

        /** Sets causality: one flag for all axes or one per axis (default false). */
        public T optCausal(boolean... causal) {
            this.causal = causal == null ? null : causal.clone();
            return self();
        }

        /** Sets the softmax scale (default {@code (C / heads)^-0.5}). */
        public T optScale(float scale) {
            this.scale = scale;
            return self();
        }

        /** Sets whether the qkv projection has a bias (default true). */
        public T optQkvBias(boolean qkvBias) {
            this.qkvBias = qkvBias;
            return self();
        }

        /**
         * Sets whether the block learns a relative positional bias {@code rpb [heads, 2k0-1, ...]}
         * as NAT and DiNAT do (default false; not with causal).
         */
        public T optRelativePositionBias(boolean relativePositionBias) {
            this.relativePositionBias = relativePositionBias;
            return self();
        }

        /** Sets the dropout rate of the attention weights in training (default 0). */
        public T optAttentionDropout(float rate) {
            this.attentionDropout = rate;
            return self();
        }

        /** Sets the dropout rate after the output projection in training (default 0). */
        public T optProjectionDropout(float rate) {
            this.projectionDropout = rate;
            return self();
        }

        /** Sets the backend that computes the attention (default {@link NaBackend#AUTO}). */
        public T optBackend(NaBackend backend) {
            this.backend = backend;
            return self();
        }

        /**
         * Sets whether spatial axes shorter than {@code kernel * dilation} are zero-padded to that
         * length before the qkv projection and cropped after the attention, as NAT and DiNAT do
         * (default false: such inputs are an error).
         */
        public T optPadSmallInputs(boolean padSmallInputs) {
            this.padSmallInputs = padSmallInputs;
            return self();
        }

        /** Checks the settings; the rank-specific {@code build()} calls it. */
        protected void validate() {
            if (embedDim <= 0) {
                throw new IllegalArgumentException(
                        "embedDim is required and must be positive, got " + embedDim);
            }
            if (heads <= 0) {
                throw new IllegalArgumentException(
                        "heads is required and must be positive, got " + heads);
            }
            if (embedDim % heads != 0) {
                throw new IllegalArgumentException(
                        "embedDim " + embedDim + " must be a multiple of heads " + heads);
            }
            if (kernelSize == null) {
                throw new IllegalArgumentException("kernelSize is required");
            }
            for (int k : kernelSize) {
                if (k < 2) {
                    throw new IllegalArgumentException(
                            "kernelSize must be >= 2 on every axis, got "
                                    + Arrays.toString(kernelSize));
                }
            }
            checkRate("attentionDropout", attentionDropout);
            checkRate("projectionDropout", projectionDropout);
            if (backend == null) {
                throw new IllegalArgumentException("backend must not be null");
            }
            if (relativePositionBias && causal != null) {
                for (boolean c : causal) {
                    if (c) {
                        throw new IllegalArgumentException(
                                "relative positional bias cannot be used with causal");
                    }
                }
            }
        }

        private static void checkRate(String name, float rate) {
            if (!(rate >= 0 && rate < 1)) {
                throw new IllegalArgumentException(name + " must be in [0, 1), got " + rate);
            }
        }
    }
}

package ai.natten.zoo.nat;

import ai.natten.djl.NaBackend;
import java.util.Arrays;

/**
 * The architecture of a NAT or DiNAT model: a hierarchical one (overlapping convolutional
 * tokenizer, levels of neighborhood-attention layers with convolutional downsamplers between them)
 * or an isotropic one (non-overlapping patch tokenizer, one level of constant width).
 *
 * <p>The published variants are in {@link NatVariants}; any other configuration, for instance a
 * tiny model for 28x28 grayscale images, is built the same way:
 *
 * <pre>{@code
 * NatConfig tiny = NatConfig.builder()
 *         .setEmbedDim(32).setDepths(2, 2).setHeads(2, 4).optKernelSize(3)
 *         .optInChannels(1).optImageSize(28).optNumClasses(10).build();
 * }</pre>
 */
public final class NatConfig {

    private final String name;
    private final int inChannels;
    private final int imageSize;
    private final int numClasses;
    private final int embedDim;
    private final int[] depths;
    private final int[] heads;
    private final int kernelSize;
    private final int[][] dilations;
    private final float mlpRatio;
    private final float layerScale;
    private final float dropPathRate;
    private final float dropRate;
    private final float attentionDropRate;
    private final boolean qkvBias;
    private final float layerNormEps;
    private final int patchSize;
    private final NaBackend backend;

    private NatConfig(Builder b) {
        this.name = b.name;
        this.inChannels = b.inChannels;
        this.imageSize = b.imageSize;
        this.numClasses = b.numClasses;
        this.embedDim = b.embedDim;
        this.depths = b.depths.clone();
        this.heads = b.heads.clone();
        this.kernelSize = b.kernelSize;
        this.dilations = new int[depths.length][];
        for (int level = 0; level < depths.length; level++) {
            this.dilations[level] =
                    b.dilations == null ? filled(depths[level]) : b.dilations[level].clone();
        }
        this.mlpRatio = b.mlpRatio;
        this.layerScale = b.layerScale;
        this.dropPathRate = b.dropPathRate;
        this.dropRate = b.dropRate;
        this.attentionDropRate = b.attentionDropRate;
        this.qkvBias = b.qkvBias;
        this.layerNormEps = b.layerNormEps;
        this.patchSize = b.patchSize;
        this.backend = b.backend;
    }

    private static int[] filled(int n) {
        int[] ones = new int[n];
        Arrays.fill(ones, 1);
        return ones;
    }

    /** Returns a new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Returns a builder initialized with this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.name = name;
        b.inChannels = inChannels;
        b.imageSize = imageSize;
        b.numClasses = numClasses;
        b.embedDim = embedDim;
        b.depths = depths.clone();
        b.heads = heads.clone();
        b.kernelSize = kernelSize;
        b.dilations = dilations();
        b.mlpRatio = mlpRatio;
        b.layerScale = layerScale;
        b.dropPathRate = dropPathRate;
        b.dropRate = dropRate;
        b.attentionDropRate = attentionDropRate;
        b.qkvBias = qkvBias;
        b.layerNormEps = layerNormEps;
        b.patchSize = patchSize;
        b.backend = backend;
        return b;
    }

    /** Returns the variant's name, such as {@code nat_mini} ({@code custom} if not set). */
    public String name() {
        return name;
    }

    /** Returns the number of input image channels. */
    public int inChannels() {
        return inChannels;
    }

    /** Returns the input resolution the model is meant for (square images). */
    public int imageSize() {
        return imageSize;
    }

    /** Returns the number of classes of the head; 0 means no head (pooled features out). */
    public int numClasses() {
        return numClasses;
    }

    /** Returns the channel count of the first level. */
    public int embedDim() {
        return embedDim;
    }

    /** Returns the number of levels. */
    public int levels() {
        return depths.length;
    }

    /** Returns the number of layers of a level. */
    public int depth(int level) {
        return depths[level];
    }

    /** Returns the number of layers of all levels. */
    public int totalDepth() {
        return Arrays.stream(depths).sum();
    }

    /** Returns the attention heads of a level. */
    public int heads(int level) {
        return heads[level];
    }

    /** Returns the channel count of a level: {@code embedDim * 2^level} (constant if isotropic). */
    public int dim(int level) {
        return isotropic() ? embedDim : embedDim << level;
    }

    /** Returns the channel count after the last level. */
    public int numFeatures() {
        return dim(levels() - 1);
    }

    /** Returns the neighborhood kernel size (both axes). */
    public int kernelSize() {
        return kernelSize;
    }

    /** Returns the dilation of one layer of one level. */
    public int dilation(int level, int layer) {
        return dilations[level][layer];
    }

    /** Returns the dilations of every layer, per level. */
    public int[][] dilations() {
        int[][] copy = new int[dilations.length][];
        for (int level = 0; level < dilations.length; level++) {
            copy[level] = dilations[level].clone();
        }
        return copy;
    }

    /** Returns the MLP hidden width as a multiple of the layer width. */
    public float mlpRatio() {
        return mlpRatio;
    }

    /** Returns the initial layer-scale value, 0 when the variant has no layer scale. */
    public float layerScale() {
        return layerScale;
    }

    /**
     * Returns the stochastic-depth rate of a layer: the linear rule, from 0 at the first layer to
     * {@code dropPathRate} at the last, over all levels.
     */
    public float dropPath(int level, int layer) {
        int index = layer;
        for (int l = 0; l < level; l++) {
            index += depths[l];
        }
        int total = totalDepth();
        return total <= 1 ? 0f : (float) ((double) dropPathRate * index / (total - 1));
    }

    /** Returns the largest stochastic-depth rate (of the last layer). */
    public float dropPathRate() {
        return dropPathRate;
    }

    /** Returns the dropout rate after the tokenizer, after projections and in the MLP. */
    public float dropRate() {
        return dropRate;
    }

    /** Returns the dropout rate of attention weights. */
    public float attentionDropRate() {
        return attentionDropRate;
    }

    /** Returns whether the qkv projections have biases. */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** Returns the epsilon of every LayerNorm. */
    public float layerNormEps() {
        return layerNormEps;
    }

    /** Returns whether the model is isotropic (patch tokenizer, one level, no downsampling). */
    public boolean isotropic() {
        return patchSize > 0;
    }

    /** Returns the patch size of an isotropic model's tokenizer, 0 for hierarchical models. */
    public int patchSize() {
        return patchSize;
    }

    /** Returns the attention backend. */
    public NaBackend backend() {
        return backend;
    }

    @Override
    public String toString() {
        return name
                + "{embedDim="
                + embedDim
                + ", depths="
                + Arrays.toString(depths)
                + ", heads="
                + Arrays.toString(heads)
                + ", kernel="
                + kernelSize
                + ", dilations="
                + Arrays.deepToString(dilations)
                + ", mlpRatio="
                + mlpRatio
                + (layerScale > 0 ? ", layerScale=" + layerScale : "")
                + (isotropic() ? ", patch=" + patchSize : "")
                + ", classes="
                + numClasses
                + ", in="
                + inChannels
                + "x"
                + imageSize
                + "}";
    }

    /** Builds {@link NatConfig}: {@code setX} are required, {@code optX} have defaults. */
    public static final class Builder {

        private String name = "custom";
        private int inChannels = 3;
        private int imageSize = 224;
        private int numClasses = 1000;
        private int embedDim;
        private int[] depths;
        private int[] heads;
        private int kernelSize = 7;
        private int[][] dilations;
        private float mlpRatio = 4f;
        private float layerScale;
        private float dropPathRate;
        private float dropRate;
        private float attentionDropRate;
        private boolean qkvBias = true;
        private float layerNormEps = 1e-5f;
        private int patchSize;
        private NaBackend backend = NaBackend.AUTO;

        private Builder() {}

        /** Sets the channel count of the first level (required; even for hierarchical models). */
        public Builder setEmbedDim(int embedDim) {
            this.embedDim = embedDim;
            return this;
        }

        /** Sets the number of layers per level (required). */
        public Builder setDepths(int... depths) {
            this.depths = depths == null ? null : depths.clone();
            return this;
        }

        /** Sets the attention heads per level (required, one per level). */
        public Builder setHeads(int... heads) {
            this.heads = heads == null ? null : heads.clone();
            return this;
        }

        /** Sets the variant name (default {@code custom}). */
        public Builder optName(String name) {
            this.name = name;
            return this;
        }

        /** Sets the number of input channels (default 3). */
        public Builder optInChannels(int inChannels) {
            this.inChannels = inChannels;
            return this;
        }

        /** Sets the square input resolution (default 224). */
        public Builder optImageSize(int imageSize) {
            this.imageSize = imageSize;
            return this;
        }

        /** Sets the number of classes; 0 for no head (default 1000). */
        public Builder optNumClasses(int numClasses) {
            this.numClasses = numClasses;
            return this;
        }

        /** Sets the neighborhood kernel size (default 7). */
        public Builder optKernelSize(int kernelSize) {
            this.kernelSize = kernelSize;
            return this;
        }

        /** Sets the dilation of every layer, one array per level (default all 1: NAT). */
        public Builder optDilations(int[]... dilations) {
            this.dilations = dilations;
            return this;
        }

        /** Sets the MLP ratio (default 4). */
        public Builder optMlpRatio(float mlpRatio) {
            this.mlpRatio = mlpRatio;
            return this;
        }

        /** Sets the initial layer-scale value; 0 (the default) for no layer scale. */
        public Builder optLayerScale(float layerScale) {
            this.layerScale = layerScale;
            return this;
        }

        /** Sets the stochastic-depth rate of the last layer (default 0). */
        public Builder optDropPathRate(float dropPathRate) {
            this.dropPathRate = dropPathRate;
            return this;
        }

        /** Sets the dropout rate after tokenizer, projections and MLP (default 0). */
        public Builder optDropRate(float dropRate) {
            this.dropRate = dropRate;
            return this;
        }

        /** Sets the attention-weight dropout rate (default 0). */
        public Builder optAttentionDropRate(float attentionDropRate) {
            this.attentionDropRate = attentionDropRate;
            return this;
        }

        /** Sets whether the qkv projections have biases (default true). */
        public Builder optQkvBias(boolean qkvBias) {
            this.qkvBias = qkvBias;
            return this;
        }

        /** Sets the LayerNorm epsilon (default 1e-5). */
        public Builder optLayerNormEps(float layerNormEps) {
            this.layerNormEps = layerNormEps;
            return this;
        }

        /**
         * Makes the model isotropic: a non-overlapping {@code patchSize} tokenizer and a single
         * level (default: hierarchical, 0).
         */
        public Builder optIsotropic(int patchSize) {
            this.patchSize = patchSize;
            return this;
        }

        /** Sets the attention backend (default {@link NaBackend#AUTO}). */
        public Builder optBackend(NaBackend backend) {
            this.backend = backend;
            return this;
        }

        /** Returns the configuration; throws {@link IllegalArgumentException} if invalid. */
        public NatConfig build() {
            positive("embedDim", embedDim);
            positive("inChannels", inChannels);
            positive("imageSize", imageSize);
            if (kernelSize < 2) {
                throw new IllegalArgumentException("kernelSize must be >= 2, got " + kernelSize);
            }
            if (numClasses < 0) {
                throw new IllegalArgumentException("numClasses must be >= 0, got " + numClasses);
            }
            if (depths == null || depths.length == 0 || heads == null) {
                throw new IllegalArgumentException("depths and heads are required");
            }
            if (heads.length != depths.length) {
                throw new IllegalArgumentException(
                        "heads must have one value per level ("
                                + depths.length
                                + "), got "
                                + Arrays.toString(heads));
            }
            if (patchSize < 0 || (patchSize > 0 && depths.length != 1)) {
                throw new IllegalArgumentException(
                        "an isotropic model has one level and a positive patch size, got depths "
                                + Arrays.toString(depths)
                                + " and patch size "
                                + patchSize);
            }
            if (patchSize == 0 && embedDim % 2 != 0) {
                throw new IllegalArgumentException(
                        "embedDim must be even (the tokenizer's first conv has embedDim / 2"
                                + " channels), got "
                                + embedDim);
            }
            for (int level = 0; level < depths.length; level++) {
                positive("depths[" + level + "]", depths[level]);
                positive("heads[" + level + "]", heads[level]);
                int dim = patchSize > 0 ? embedDim : embedDim << level;
                if (dim % heads[level] != 0) {
                    throw new IllegalArgumentException(
                            "level "
                                    + level
                                    + " has "
                                    + dim
                                    + " channels, not a multiple of its "
                                    + heads[level]
                                    + " heads");
                }
            }
            checkDilations();
            if (!(mlpRatio > 0) || layerScale < 0) {
                throw new IllegalArgumentException(
                        "mlpRatio must be > 0 and layerScale >= 0, got "
                                + mlpRatio
                                + " and "
                                + layerScale);
            }
            rate("dropPathRate", dropPathRate);
            rate("dropRate", dropRate);
            rate("attentionDropRate", attentionDropRate);
            if (backend == null || name == null) {
                throw new IllegalArgumentException("backend and name must not be null");
            }
            return new NatConfig(this);
        }

        private void checkDilations() {
            if (dilations == null) {
                return;
            }
            if (dilations.length != depths.length) {
                throw new IllegalArgumentException(
                        "dilations must have one array per level ("
                                + depths.length
                                + "), got "
                                + dilations.length);
            }
            for (int level = 0; level < depths.length; level++) {
                if (dilations[level] == null || dilations[level].length != depths[level]) {
                    throw new IllegalArgumentException(
                            "dilations of level "
                                    + level
                                    + " must have one value per layer ("
                                    + depths[level]
                                    + "), got "
                                    + Arrays.toString(dilations[level]));
                }
                for (int d : dilations[level]) {
                    positive("dilation", d);
                }
            }
        }

        private static void positive(String name, int value) {
            if (value <= 0) {
                throw new IllegalArgumentException(name + " must be positive, got " + value);
            }
        }

        private static void rate(String name, float value) {
            if (!(value >= 0 && value < 1)) {
                throw new IllegalArgumentException(name + " must be in [0, 1), got " + value);
            }
        }
    }
}

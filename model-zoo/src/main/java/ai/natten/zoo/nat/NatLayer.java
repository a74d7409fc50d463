package ai.natten.zoo.nat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;
import ai.natten.djl.nn.NeighborhoodAttention2d;

/**
 * One pre-norm NAT/DiNAT layer on {@code [B, H, W, C]}:
 *
 * <pre>
 * x = x + dropPath(gamma1 * attn(norm1(x)))
 * x = x + dropPath(gamma2 * mlp(norm2(x)))
 * </pre>
 *
 * where {@code attn} is 2-D neighborhood attention with relative positional bias (inputs smaller
 * than {@code kernel * dilation} are zero-padded, as NAT does) and {@code gamma1, gamma2 [C]} are
 * the layer-scale parameters, present only when a layer-scale value is given.
 */
public final class NatLayer extends AbstractBlock {

    private final LayerNorm norm1;
    private final NeighborhoodAttention2d attn;
    private final LayerNorm norm2;
    private final Mlp mlp;
    private final Parameter gamma1;
    private final Parameter gamma2;
    private final int dim;
    private final float dropPath;

    /**
     * Creates a layer.
     *
     * @param dim the channel count C
     * @param heads the attention heads
     * @param kernelSize the neighborhood kernel size
     * @param dilation the dilation
     * @param config the model configuration (MLP ratio, dropouts, layer scale, epsilon, backend)
     * @param dropPath this layer's stochastic-depth rate
     */
    @SuppressWarnings("this-escape")
    public NatLayer(
            int dim, int heads, int kernelSize, int dilation, NatConfig config, float dropPath) {
        this.dim = dim;
        this.dropPath = dropPath;
        float eps = config.layerNormEps();
        this.norm1 = addChildBlock("norm1", ChannelsLast.layerNorm(eps));
        this.attn =
                addChildBlock(
                        "attn",
                        NeighborhoodAttention2d.builder()
                                .setEmbedDim(dim)
                                .setHeads(heads)
                                .setKernelSize(kernelSize)
                                .optDilation(dilation)
                                .optQkvBias(config.qkvBias())
                                .optRelativePositionBias(true)
                                .optAttentionDropout(config.attentionDropRate())
                                .optProjectionDropout(config.dropRate())
                                .optPadSmallInputs(true)
                                .optBackend(config.backend())
                                .build());
        this.norm2 = addChildBlock("norm2", ChannelsLast.layerNorm(eps));
        this.mlp =
                addChildBlock(
                        "mlp", new Mlp(dim, (int) (dim * config.mlpRatio()), config.dropRate()));
        if (config.layerScale() > 0) {
            gamma1 = addParameter(layerScale("gamma1", config.layerScale()));
            gamma2 = addParameter(layerScale("gamma2", config.layerScale()));
        } else {
            gamma1 = null;
            gamma2 = null;
        }
    }

    private static Parameter layerScale(String name, float value) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.OTHER)
                .optInitializer(new ConstantInitializer(value))
                .build();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray branch = forward(norm1, ps, x, training, params);
        branch = forward(attn, ps, branch, training, params);
        x = x.add(DropPath.apply(scale(gamma1, ps, branch, training), dropPath, training));
        branch = forward(norm2, ps, x, training, params);
        branch = forward(mlp, ps, branch, training, params);
        x = x.add(DropPath.apply(scale(gamma2, ps, branch, training), dropPath, training));
        return new NDList(x);
    }

    private static NDArray forward(
            AbstractBlock block,
            ParameterStore ps,
            NDArray x,
            boolean training,
            PairList<String, Object> params) {
        return block.forward(ps, new NDList(x), training, params).singletonOrThrow();
    }

    private static NDArray scale(Parameter gamma, ParameterStore ps, NDArray x, boolean training) {
        return gamma == null ? x : x.mul(ps.getValue(gamma, x.getDevice(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        if (gamma1 != null) {
            gamma1.setShape(new Shape(dim));
            gamma2.setShape(new Shape(dim));
        }
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        norm1.initialize(manager, dataType, shapes[0]);
        attn.initialize(manager, dataType, shapes[0]);
        norm2.initialize(manager, dataType, shapes[0]);
        mlp.initialize(manager, dataType, shapes[0]);
    }
}

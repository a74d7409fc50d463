package ai.natten.zoo.nat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * NAT's downsampler between levels: a 3x3 stride-2 convolution (padding 1, no bias) doubling the
 * channels, then a LayerNorm. Input {@code [B, H, W, C]}, output {@code [B, ceil(H/2), ceil(W/2),
 * 2C]}.
 */
public final class ConvDownsampler extends AbstractBlock {

    private final Conv2d reduction;
    private final LayerNorm norm;
    private final int dim;

    /**
     * Creates the downsampler.
     *
     * @param dim the input channels C
     * @param eps the LayerNorm epsilon
     */
    @SuppressWarnings("this-escape")
    public ConvDownsampler(int dim, float eps) {
        this.dim = dim;
        this.reduction =
                addChildBlock(
                        "reduction",
                        Conv2d.builder()
                                .setKernelShape(new Shape(3, 3))
                                .optStride(new Shape(2, 2))
                                .optPadding(new Shape(1, 1))
                                .setFilters(2 * dim)
                                .optBias(false)
                                .build());
        this.norm = addChildBlock("norm", ChannelsLast.layerNorm(eps));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = ChannelsLast.toChannelsFirst(inputs.singletonOrThrow());
        x = reduction.forward(ps, new NDList(x), training, params).singletonOrThrow();
        return norm.forward(ps, new NDList(ChannelsLast.fromChannelsFirst(x)), training, params);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {
            new Shape(
                    s.get(0),
                    ChannelsLast.convOut(s.get(1), 3, 2, 1),
                    ChannelsLast.convOut(s.get(2), 3, 2, 1),
                    2L * dim)
        };
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        reduction.initialize(manager, dataType, ChannelsLast.toChannelsFirst(shapes[0]));
        norm.initialize(manager, dataType, getOutputShapes(shapes)[0]);
    }
}

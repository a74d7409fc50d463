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
 * NAT's overlapping tokenizer: two 3x3 stride-2 convolutions (padding 1) to {@code embedDim / 2}
 * then {@code embedDim} channels, and a LayerNorm. Input {@code [B, inChannels, H, W]}, output
 * {@code [B, H', W', embedDim]} with {@code H' = ceil(ceil(H / 2) / 2)}.
 */
public final class ConvTokenizer extends AbstractBlock {

    private final Conv2d first;
    private final Conv2d second;
    private final LayerNorm norm;
    private final int embedDim;

    /**
     * Creates the tokenizer.
     *
     * @param embedDim output channels (even)
     * @param eps the LayerNorm epsilon
     */
    @SuppressWarnings("this-escape")
    public ConvTokenizer(int embedDim, float eps) {
        this.embedDim = embedDim;
        this.first = addChildBlock("proj.0", conv(embedDim / 2));
        this.second = addChildBlock("proj.1", conv(embedDim));
        this.norm = addChildBlock("norm", ChannelsLast.layerNorm(eps));
    }

    private static Conv2d conv(int filters) {
        return Conv2d.builder()
                .setKernelShape(new Shape(3, 3))
                .optStride(new Shape(2, 2))
                .optPadding(new Shape(1, 1))
                .setFilters(filters)
                .build();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = first.forward(ps, inputs, training, params);
        x = second.forward(ps, x, training, params);
        NDArray tokens = ChannelsLast.fromChannelsFirst(x.singletonOrThrow());
        return norm.forward(ps, new NDList(tokens), training, params);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {
            new Shape(s.get(0), half(half(s.get(2))), half(half(s.get(3))), embedDim)
        };
    }

    private static long half(long n) {
        return ChannelsLast.convOut(n, 3, 2, 1);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        first.initialize(manager, dataType, shapes[0]);
        Shape mid = first.getOutputShapes(new Shape[] {shapes[0]})[0];
        second.initialize(manager, dataType, mid);
        norm.initialize(manager, dataType, getOutputShapes(shapes)[0]);
    }
}

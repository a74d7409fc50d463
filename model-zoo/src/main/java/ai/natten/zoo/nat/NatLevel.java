package ai.natten.zoo.nat;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * One level of a hierarchical NAT: {@code depth} {@link NatLayer}s ({@code blocks.i}) at constant
 * resolution, then, except after the last level, a {@link ConvDownsampler} ({@code downsample}).
 * Input {@code [B, H, W, C]}.
 */
public final class NatLevel extends AbstractBlock {

    private final List<Block> sequence = new ArrayList<>();

    /**
     * Creates level {@code level} of a model.
     *
     * @param config the model configuration
     * @param level the level index
     */
    @SuppressWarnings("this-escape")
    public NatLevel(NatConfig config, int level) {
        int dim = config.dim(level);
        for (int layer = 0; layer < config.depth(level); layer++) {
            sequence.add(
                    addChildBlock(
                            "blocks." + layer,
                            new NatLayer(
                                    dim,
                                    config.heads(level),
                                    config.kernelSize(),
                                    config.dilation(level, layer),
                                    config,
                                    config.dropPath(level, layer))));
        }
        if (level < config.levels() - 1) {
            sequence.add(
                    addChildBlock("downsample", new ConvDownsampler(dim, config.layerNormEps())));
        }
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return Chain.forward(sequence, ps, inputs, training, params);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {Chain.outputShape(sequence, inputShapes[0])};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        Chain.initialize(sequence, manager, dataType, shapes[0]);
    }
}

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
 * The isotropic models' non-overlapping tokenizer: a {@code p x p} stride-{@code p} convolution
 * (the image zero-padded right and bottom to a multiple of p) and a LayerNorm. Input {@code [B,
 * inChannels, H, W]}, output {@code [B, ceil(H / p), ceil(W / p), embedDim]}.
 */
public final class PatchTokenizer extends AbstractBlock {

    private final Conv2d proj;
    private final LayerNorm norm;
    private final int embedDim;
    private final int patch;

    /**
     * Creates the tokenizer.
     *
     * @param embedDim output channels
     * @param patch the patch size p
     * @param eps the LayerNorm epsilon
     */
    @SuppressWarnings("this-escape")
    public PatchTokenizer(int embedDim, int patch, float eps) {
        this.embedDim = embedDim;
        this.patch = patch;
        this.proj =
                addChildBlock(
                        "proj",
                        Conv2d.builder()
                                .setKernelShape(new Shape(patch, patch))
                                .optStride(new Shape(patch, patch))
                                .setFilters(embedDim)
                                .build());
        this.norm = addChildBlock("norm", ChannelsLast.layerNorm(eps));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        long padH = padding(x.getShape().get(2));
        long padW = padding(x.getShape().get(3));
        if (padH > 0 || padW > 0) {
            x = x.pad(new Shape(0, padW, 0, padH, 0, 0, 0, 0), 0);
        }
        NDArray tokens =
                ChannelsLast.fromChannelsFirst(
                        proj.forward(ps, new NDList(x), training, params).singletonOrThrow());
        return norm.forward(ps, new NDList(tokens), training, params);
    }

    private long padding(long n) {
        return (patch - n % patch) % patch;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {
            new Shape(
                    s.get(0),
                    (s.get(2) + padding(s.get(2))) / patch,
                    (s.get(3) + padding(s.get(3))) / patch,
                    embedDim)
        };
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        proj.initialize(manager, dataType, shapes[0]);
        norm.initialize(manager, dataType, getOutputShapes(shapes)[0]);
    }
}

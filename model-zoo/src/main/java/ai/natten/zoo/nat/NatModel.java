package ai.natten.zoo.nat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * A NAT or DiNAT image classifier as a DJL Block, structured and named as the official models
 * (child names follow the original repository's state-dict names):
 *
 * <ul>
 *   <li>{@code patch_embed}: {@link ConvTokenizer} (hierarchical) or {@link PatchTokenizer}
 *       (isotropic), then dropout;
 *   <li>{@code levels.i}: {@link NatLevel}s (hierarchical) or {@code layers.i}: {@link NatLayer}s
 *       (isotropic, dilation alternating 1 and d);
 *   <li>{@code norm}: LayerNorm, global average pooling over the positions, {@code head}: Linear
 *       (absent when the class count is 0; the pooled features are then the output).
 * </ul>
 *
 * <p>Input {@code [B, inChannels, H, W]} (normalized pixels); output logits {@code [B, classes]}.
 *
 * <pre>{@code
 * NatModel model = new NatModel(NatVariants.natMini().build());
 * model.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 224, 224));
 * }</pre>
 */
public final class NatModel extends AbstractBlock {

    private final NatConfig config;
    private final List<Block> features = new ArrayList<>();
    private final LayerNorm norm;
    private final Linear head;

    /**
     * Creates the model of a configuration (parameters uninitialized).
     *
     * @param config the architecture
     */
    @SuppressWarnings("this-escape")
    public NatModel(NatConfig config) {
        this.config = config;
        float eps = config.layerNormEps();
        features.add(
                addChildBlock(
                        "patch_embed",
                        config.isotropic()
                                ? new PatchTokenizer(config.embedDim(), config.patchSize(), eps)
                                : new ConvTokenizer(config.embedDim(), eps)));
        if (config.isotropic()) {
            for (int layer = 0; layer < config.depth(0); layer++) {
                features.add(
                        addChildBlock(
                                "layers." + layer,
                                new NatLayer(
                                        config.embedDim(),
                                        config.heads(0),
                                        config.kernelSize(),
                                        config.dilation(0, layer),
                                        config,
                                        config.dropPath(0, layer))));
            }
        } else {
            for (int level = 0; level < config.levels(); level++) {
                features.add(addChildBlock("levels." + level, new NatLevel(config, level)));
            }
        }
        this.norm = addChildBlock("norm", ChannelsLast.layerNorm(eps));
        this.head =
                config.numClasses() > 0
                        ? addChildBlock(
                                "head", Linear.builder().setUnits(config.numClasses()).build())
                        : null;
    }

    /** Returns the architecture. */
    public NatConfig config() {
        return config;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray images = inputs.singletonOrThrow();
        checkInput(images.getShape());
        NDList x = features.get(0).forward(ps, inputs, training, params);
        if (training && config.dropRate() > 0) {
            x = Dropout.dropout(x.singletonOrThrow(), config.dropRate(), true);
        }
        x = Chain.forward(features.subList(1, features.size()), ps, x, training, params);
        NDArray normed = norm.forward(ps, x, training, params).singletonOrThrow();
        Shape shape = normed.getShape();
        NDArray pooled = normed.reshape(shape.get(0), -1, shape.get(3)).mean(new int[] {1});
        if (head == null) {
            return new NDList(pooled);
        }
        return head.forward(ps, new NDList(pooled), training, params);
    }

    private void checkInput(Shape shape) {
        if (shape.dimension() != 4 || shape.get(1) != config.inChannels()) {
            throw new IllegalArgumentException(
                    "NatModel expects images [B, "
                            + config.inChannels()
                            + ", H, W], got shape "
                            + shape);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        checkInput(inputShapes[0]);
        long width = head == null ? config.numFeatures() : config.numClasses();
        return new Shape[] {new Shape(inputShapes[0].get(0), width)};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        checkInput(shapes[0]);
        Shape out = Chain.initialize(features, manager, dataType, shapes[0]);
        norm.initialize(manager, dataType, out);
        if (head != null) {
            head.initialize(manager, dataType, new Shape(out.get(0), out.get(3)));
        }
    }
}

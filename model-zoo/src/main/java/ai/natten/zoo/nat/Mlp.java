package ai.natten.zoo.nat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * The transformer MLP: {@code fc1 (C -> hidden)}, GELU, dropout, {@code fc2 (hidden -> C)},
 * dropout. Input and output {@code [..., C]}.
 */
public final class Mlp extends AbstractBlock {

    private final Linear fc1;
    private final Linear fc2;
    private final int hidden;
    private final float dropRate;

    /**
     * Creates the MLP.
     *
     * @param dim the input and output width C
     * @param hidden the hidden width
     * @param dropRate dropout after the activation and after fc2, in training
     */
    @SuppressWarnings("this-escape")
    public Mlp(int dim, int hidden, float dropRate) {
        this.hidden = hidden;
        this.dropRate = dropRate;
        this.fc1 = addChildBlock("fc1", Linear.builder().setUnits(hidden).build());
        this.fc2 = addChildBlock("fc2", Linear.builder().setUnits(dim).build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = fc1.forward(ps, inputs, training, params).singletonOrThrow();
        x = drop(Activation.gelu(x), training);
        x = fc2.forward(ps, new NDList(x), training, params).singletonOrThrow();
        return new NDList(drop(x, training));
    }

    private NDArray drop(NDArray x, boolean training) {
        return training && dropRate > 0 ? Dropout.dropout(x, dropRate, true).singletonOrThrow() : x;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        fc1.initialize(manager, dataType, shapes[0]);
        Shape hiddenShape = shapes[0].slice(0, shapes[0].dimension() - 1).add(hidden);
        fc2.initialize(manager, dataType, hiddenShape);
    }
}

package ai.natten.zoo.nat;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.List;

/** Runs, shapes and initializes a list of single-input blocks in order. */
final class Chain {

    private Chain() {}

    static NDList forward(
            List<Block> blocks,
            ParameterStore ps,
            NDList x,
            boolean training,
            PairList<String, Object> params) {
        for (Block block : blocks) {
            x = block.forward(ps, x, training, params);
        }
        return x;
    }

    static Shape outputShape(List<Block> blocks, Shape shape) {
        for (Block block : blocks) {
            shape = block.getOutputShapes(new Shape[] {shape})[0];
        }
        return shape;
    }

    /** Initializes every block for the shape flowing into it; returns the final shape. */
    static Shape initialize(List<Block> blocks, NDManager manager, DataType type, Shape shape) {
        for (Block block : blocks) {
            block.initialize(manager, type, shape);
            shape = block.getOutputShapes(new Shape[] {shape})[0];
        }
        return shape;
    }
}

package ai.natten.app.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.Pair;

/**
 * Converts every parameter of an initialized Block to another data type, in place.
 *
 * <p>DJL 0.35.1's {@code Block.cast} is not implemented for its stock blocks ({@code
 * AbstractBaseBlock.cast} throws), and a {@link Parameter}'s array cannot be replaced once set.
 * This re-initializes each parameter from a converted copy of its own values: the parameter keeps
 * its name, shape, gradient requirement and initializer, only its array's data type changes.
 */
public final class ParameterCast {

    private ParameterCast() {}

    /**
     * Casts the parameters of {@code block} to {@code dataType}.
     *
     * @param block an initialized block
     * @param dataType the new data type (e.g. {@link DataType#FLOAT16} on a GPU, back to {@link
     *     DataType#FLOAT32} before saving)
     * @throws IllegalStateException when a parameter is not initialized
     */
    public static void cast(Block block, DataType dataType) {
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter parameter = pair.getValue();
            if (!parameter.isInitialized()) {
                throw new IllegalStateException(
                        "parameter " + pair.getKey() + " is not initialized: nothing to cast");
            }
            NDArray array = parameter.getArray();
            if (array.getDataType() == dataType) {
                continue;
            }
            NDManager manager = array.getManager();
            NDArray converted = array.toType(dataType, true);
            Initializer original = parameter.getInitializer();
            parameter.close();
            parameter.setInitializer((m, shape, type) -> converted);
            parameter.initialize(manager, dataType);
            parameter.setInitializer(original);
        }
    }
}

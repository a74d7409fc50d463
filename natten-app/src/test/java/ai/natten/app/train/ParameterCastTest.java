package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParameterCastTest {

    private static Block block() {
        SequentialBlock block =
                new SequentialBlock()
                        .add(Linear.builder().setUnits(24).build())
                        .add(LayerNorm.builder().build())
                        .add(Linear.builder().setUnits(5).build());
        block.setInitializer(new NormalInitializer(0.7f), Parameter.Type.WEIGHT);
        block.setInitializer(new NormalInitializer(0.3f), Parameter.Type.BIAS);
        return block;
    }

    private static List<float[]> values(Block block) {
        List<float[]> values = new ArrayList<>();
        for (Pair<String, Parameter> pair : block.getParameters()) {
            values.add(pair.getValue().getArray().toType(DataType.FLOAT32, true).toFloatArray());
        }
        return values;
    }

    @Test
    void castsEveryParameterToHalfAndBackKeepingNamesShapesAndGradients() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = block();
            block.initialize(manager, DataType.FLOAT32, new Shape(3, 16));
            List<float[]> before = values(block);
            List<Shape> shapes = new ArrayList<>();
            block.getParameters().forEach(p -> shapes.add(p.getValue().getArray().getShape()));

            ParameterCast.cast(block, DataType.FLOAT16);

            int i = 0;
            for (Pair<String, Parameter> pair : block.getParameters()) {
                Parameter parameter = pair.getValue();
                assertEquals(DataType.FLOAT16, parameter.getArray().getDataType(), pair.getKey());
                assertEquals(shapes.get(i), parameter.getArray().getShape(), pair.getKey());
                assertEquals(parameter.getName(), parameter.getArray().getName());
                assertEquals(
                        parameter.requiresGradient(),
                        parameter.getArray().hasGradient(),
                        pair.getKey());
                float[] half = values(block).get(i);
                float[] full = before.get(i);
                for (int j = 0; j < full.length; j++) {
                    // float16 rounding: relative error at most 2^-11 (values are far from
                    // subnormal)
                    assertEquals(
                            full[j], half[j], Math.abs(full[j]) / 2048f + 1e-7f, pair.getKey());
                }
                i++;
            }
            List<float[]> half = values(block);
            assertNotEquals(0, half.get(0)[0], "random weights, not zeros");

            ParameterCast.cast(block, DataType.FLOAT32);
            List<float[]> back = values(block);
            for (int k = 0; k < half.size(); k++) {
                assertArrayEquals(half.get(k), back.get(k), 0f, "float16 -> float32 is exact");
            }
            block.getParameters()
                    .forEach(
                            p ->
                                    assertEquals(
                                            DataType.FLOAT32,
                                            p.getValue().getArray().getDataType()));
        }
    }

    @Test
    void castParametersAreLeavesThatReceiveGradients() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = block();
            block.initialize(manager, DataType.FLOAT32, new Shape(4, 16));
            ParameterCast.cast(block, DataType.FLOAT16);
            NDArray x = manager.randomNormal(new Shape(4, 16)).toType(DataType.FLOAT16, false);
            try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
                NDArray y =
                        block.forward(new ParameterStore(manager, false), new NDList(x), true)
                                .singletonOrThrow();
                collector.backward(y.mul(manager.ones(new Shape(1))).square().sum());
            }
            for (Pair<String, Parameter> pair : block.getParameters()) {
                NDArray gradient = pair.getValue().getArray().getGradient();
                assertTrue(
                        gradient.toType(DataType.FLOAT32, false).abs().sum().getFloat() > 0,
                        pair.getKey() + " got no gradient: the cast array is not a leaf");
            }
        }
    }

    @Test
    void refusesAnUninitializedBlock() {
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () -> ParameterCast.cast(block(), DataType.FLOAT16));
        assertTrue(e.getMessage().contains("not initialized"), e.getMessage());
    }
}

package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

class ScalarsTest {

    /**
     * Reclaims freed direct buffers and refills that memory, as a long training run does between a
     * forward and its backward pass.
     */
    static void churnMemory(NDManager manager) {
        System.gc();
        for (int i = 0; i < 2000; i++) {
            manager.create(1e30f * (i + 1)).close();
        }
    }

    @Test
    void derivativeIsTheConstantEvenAfterTheMemoryIsReused() {
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int trial = 0; trial < 5; trial++) {
                NDArray x = manager.randomNormal(new Shape(3, 4));
                x.setRequiresGradient(true);
                float[] values = x.toFloatArray();
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDArray y = Scalars.multiply(x, 3f);
                    assertEquals(values[5] * 3f, y.toFloatArray()[5], 0f);
                    churnMemory(manager);
                    collector.backward(y.sum());
                }
                float[] expected = new float[12];
                java.util.Arrays.fill(expected, 3f);
                assertArrayEquals(expected, x.getGradient().toFloatArray(), 0f, "trial " + trial);
            }
        }
    }

    @Test
    void keepsTheArraysTypeAndShape() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray half = manager.randomNormal(new Shape(2, 5)).toType(DataType.FLOAT16, false);
            NDArray product = Scalars.multiply(half, 0.5f);
            assertEquals(DataType.FLOAT16, product.getDataType());
            assertEquals(new Shape(2, 5), product.getShape());
            assertArrayEquals(
                    half.toType(DataType.FLOAT32, false).mul(0.5f).toFloatArray(),
                    product.toType(DataType.FLOAT32, false).toFloatArray(),
                    0f);
        }
    }
}

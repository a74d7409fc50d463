package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.natten.core.NaOptions;
import org.junit.jupiter.api.Test;

class AttentionDropoutTest {

    /**
     * With every value equal to 1 the output is the sum of the kept, rescaled weights: exactly 1
     * without dropout, and with rate p a per-query sum of weights times 0 or 1/(1-p) whose mean
     * over many queries is 1.
     */
    @Test
    void dropoutRescalesKeptWeights() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Shape shape = new Shape(4, 32, 32, 2, 1);
            NDArray q = manager.randomNormal(shape);
            NDArray k = manager.randomNormal(shape);
            NDArray v = manager.ones(shape);
            NaOptions options = NaOptions.builder().setKernelSize(5).build();
            float[] plain = NeighborhoodAttention.na2d(q, k, v, options).toFloatArray();
            for (float value : plain) {
                assertEquals(1f, value, 1e-5f);
            }
            NaExtras drop = NaExtras.builder().optAttentionDropout(0.5f).build();
            float[] dropped = NeighborhoodAttention.na2d(q, k, v, options, drop).toFloatArray();
            double mean = 0;
            int changed = 0;
            for (float value : dropped) {
                mean += value / dropped.length;
                changed += Math.abs(value - 1f) > 1e-3 ? 1 : 0;
            }
            assertEquals(1.0, mean, 0.05, "mean of rescaled kept weights");
            assertTrue(changed > dropped.length / 2, "dropout changed only " + changed);
        }
    }

    @Test
    void rateOutsideTheUnitIntervalIsRejected() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> NaExtras.builder().optAttentionDropout(1f));
        assertTrue(e.getMessage().contains("[0, 1)"), e.getMessage());
    }
}

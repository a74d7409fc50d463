package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.tracker.Tracker;
import java.io.ByteArrayOutputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ResumableAdamWTest {

    private static final float B1 = 0.9f;
    private static final float B2 = 0.999f;
    private static final float EPS = 1e-8f;
    private static final float DECAY = 0.05f;

    private NDManager manager;
    private final Random random = new Random(42);
    private final Tracker lr = step -> 0.01f / (1 + step);

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private float[] randomFloats(int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    /** PyTorch's AdamW in doubles. */
    private static void reference(
            double[] w,
            double[] m,
            double[] v,
            float[] g,
            int t,
            double lr,
            boolean decays,
            double scale) {
        for (int i = 0; i < w.length; i++) {
            double grad = g[i] * scale;
            if (decays) {
                w[i] -= lr * DECAY * w[i];
            }
            m[i] = B1 * m[i] + (1 - B1) * grad;
            v[i] = B2 * v[i] + (1 - B2) * grad * grad;
            double mHat = m[i] / (1 - Math.pow(B1, t));
            double vHat = v[i] / (1 - Math.pow(B2, t));
            w[i] -= lr * mHat / (Math.sqrt(vHat) + EPS);
        }
    }

    private ResumableAdamW optimizer(Set<String> noDecay) {
        return ResumableAdamW.builder()
                .setLearningRateTracker(lr)
                .optDecoupledWeightDecay(DECAY)
                .optNoDecay(noDecay)
                .build();
    }

    @Test
    void matchesPyTorchsAdamWStepByStep() {
        float[] start = randomFloats(12);
        float[] bias = randomFloats(3);
        NDArray matrix = manager.create(start, new Shape(3, 4));
        NDArray vector = manager.create(bias);
        NDArray excluded = manager.create(start, new Shape(3, 4));
        ResumableAdamW adam = optimizer(Set.of("excluded"));
        double[][] w = {toDouble(start), toDouble(bias), toDouble(start)};
        double[][] m = {new double[12], new double[3], new double[12]};
        double[][] v = {new double[12], new double[3], new double[12]};
        for (int t = 1; t <= 5; t++) {
            float scale = 0.5f + t;
            adam.setGradientScale(scale);
            float[][] grads = {randomFloats(12), randomFloats(3), randomFloats(12)};
            adam.update("matrix", matrix, manager.create(grads[0], new Shape(3, 4)));
            adam.update("vector", vector, manager.create(grads[1]));
            adam.update("excluded", excluded, manager.create(grads[2], new Shape(3, 4)));
            double rate = lr.getNewValue(t - 1);
            reference(w[0], m[0], v[0], grads[0], t, rate, true, scale);
            reference(w[1], m[1], v[1], grads[1], t, rate, false, scale); // rank 1: no decay
            reference(w[2], m[2], v[2], grads[2], t, rate, false, scale); // listed: no decay
        }
        assertArrayEquals(toFloat(w[0]), matrix.toFloatArray(), 1e-6f);
        assertArrayEquals(toFloat(w[1]), vector.toFloatArray(), 1e-6f);
        assertArrayEquals(toFloat(w[2]), excluded.toFloatArray(), 1e-6f);
        assertEquals(5, adam.steps("matrix"));
    }

    @Test
    void exportedStateContinuesBitForBit() throws Exception {
        float[] start = randomFloats(6);
        float[][] grads = {randomFloats(6), randomFloats(6), randomFloats(6), randomFloats(6)};
        NDArray straight = manager.create(start, new Shape(2, 3));
        ResumableAdamW first = optimizer(Set.of());
        for (float[] g : grads) {
            first.update("p", straight, manager.create(g, new Shape(2, 3)));
        }

        NDArray resumed = manager.create(start, new Shape(2, 3));
        ResumableAdamW before = optimizer(Set.of());
        before.update("p", resumed, manager.create(grads[0], new Shape(2, 3)));
        before.update("p", resumed, manager.create(grads[1], new Shape(2, 3)));
        Map<String, Integer> steps = new HashMap<>();
        NDList state = before.exportState(Map.of("p", "layer.weight"), resumed.getDevice(), steps);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        state.encode(bytes);
        NDList decoded = NDList.decode(manager, bytes.toByteArray());
        Map<String, NDArray> byName = new HashMap<>();
        decoded.forEach(a -> byName.put(a.getName(), a));

        ResumableAdamW after = optimizer(Set.of());
        after.importState("other-id", resumed, byName, "layer.weight", steps.get("layer.weight"));
        after.update("other-id", resumed, manager.create(grads[2], new Shape(2, 3)));
        after.update("other-id", resumed, manager.create(grads[3], new Shape(2, 3)));
        assertArrayEquals(straight.toFloatArray(), resumed.toFloatArray(), 0f);

        byName.put("layer.weight.m", manager.zeros(new Shape(3, 2)));
        IllegalArgumentException wrongShape =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> after.importState("x", resumed, byName, "layer.weight", 2));
        assertEquals(
                "optimizer state layer.weight.m has shape (3, 2), the model needs (2, 3)",
                wrongShape.getMessage());
    }

    @Test
    void builderRejectsBadValues() {
        assertThrows(IllegalArgumentException.class, () -> ResumableAdamW.builder().build());
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        ResumableAdamW.builder()
                                .setLearningRateTracker(lr)
                                .optBetas(1f, 0.9f)
                                .build());
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static float[] toFloat(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}

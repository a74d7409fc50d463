package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.tracker.Tracker;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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

    /** Parameters of ranks 2, 1, 2 (listed as no-decay), 3 and 0. */
    private static final List<String> IDS = List.of("matrix", "bias", "excluded", "cube", "gain");

    private static final List<Shape> SHAPES =
            List.of(
                    new Shape(3, 4),
                    new Shape(3),
                    new Shape(3, 4),
                    new Shape(2, 2, 3),
                    new Shape());
    private static final boolean[] DECAYS = {true, false, false, true, false};

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

    private float[] randomFloats(long n) {
        float[] values = new float[(int) n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    /** PyTorch's AdamW in doubles, for one parameter at its step {@code t}. */
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

    /** A parameter in the reference: weights, moments and steps taken, in doubles. */
    private static final class Expected {
        final double[] w;
        final double[] m;
        final double[] v;
        final boolean decays;
        int t;

        Expected(float[] start, boolean decays) {
            this.w = toDouble(start);
            this.m = new double[start.length];
            this.v = new double[start.length];
            this.decays = decays;
        }

        void step(float[] g, Tracker lr, double scale) {
            t++;
            reference(w, m, v, g, t, lr.getNewValue(t - 1), decays, scale);
        }
    }

    private ResumableAdamW optimizer() {
        return ResumableAdamW.builder()
                .setLearningRateTracker(lr)
                .optDecoupledWeightDecay(DECAY)
                .optNoDecay(Set.of("excluded", "other-excluded"))
                .build();
    }

    private List<NDArray> weights(List<float[]> values, DataType type) {
        List<NDArray> weights = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            weights.add(manager.create(values.get(i), SHAPES.get(i)).toType(type, false));
        }
        return weights;
    }

    private List<float[]> randomPerParameter() {
        List<float[]> values = new ArrayList<>();
        for (Shape shape : SHAPES) {
            values.add(randomFloats(shape.size()));
        }
        return values;
    }

    /** The flat gradient the trainer passes: each parameter's gradient flattened, concatenated. */
    private NDArray flat(List<float[]> gradients, DataType type) {
        return FlatArrays.concat(weights(gradients, type));
    }

    @Test
    void matchesPyTorchsAdamWOverParametersOfEveryRank() {
        List<float[]> start = randomPerParameter();
        List<NDArray> weights = weights(start, DataType.FLOAT32);
        List<Expected> expected = new ArrayList<>();
        for (int i = 0; i < IDS.size(); i++) {
            expected.add(new Expected(start.get(i), DECAYS[i]));
        }
        ResumableAdamW adam = optimizer();
        for (int t = 1; t <= 5; t++) {
            float scale = 0.5f + t;
            adam.setGradientScale(scale);
            List<float[]> grads = randomPerParameter();
            adam.update(IDS, weights, flat(grads, DataType.FLOAT32));
            for (int i = 0; i < IDS.size(); i++) {
                expected.get(i).step(grads.get(i), lr, scale);
            }
        }
        for (int i = 0; i < IDS.size(); i++) {
            assertEquals(SHAPES.get(i), weights.get(i).getShape());
            assertArrayEquals(
                    toFloat(expected.get(i).w), weights.get(i).toFloatArray(), 1e-6f, IDS.get(i));
            assertEquals(5, adam.steps(IDS.get(i)));
        }
    }

    /** Over 2^18 elements, the CPU takes a step in chunks; a chunk ends inside the matrix here. */
    @Test
    void stepsInChunksLikeInOnePiece() {
        List<String> ids = List.of("large", "bias");
        List<Shape> shapes = List.of(new Shape(600, 500), new Shape(500));
        List<float[]> start = List.of(randomFloats(300_000), randomFloats(500));
        List<NDArray> weights = new ArrayList<>();
        List<Expected> expected = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            weights.add(manager.create(start.get(i), shapes.get(i)));
            expected.add(new Expected(start.get(i), i == 0));
        }
        ResumableAdamW adam = optimizer();
        for (int t = 1; t <= 3; t++) {
            List<float[]> grads = List.of(randomFloats(300_000), randomFloats(500));
            List<NDArray> gradArrays = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                gradArrays.add(manager.create(grads.get(i), shapes.get(i)));
                expected.get(i).step(grads.get(i), lr, 1);
            }
            adam.update(ids, weights, FlatArrays.concat(gradArrays));
        }
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(
                    toFloat(expected.get(i).w), weights.get(i).toFloatArray(), 1e-6f, ids.get(i));
        }
    }

    @Test
    void float16ParametersFollowTheirFloat32Masters() {
        List<float[]> start = randomPerParameter();
        List<NDArray> weights = weights(start, DataType.FLOAT16);
        List<Expected> expected = new ArrayList<>();
        for (int i = 0; i < IDS.size(); i++) {
            // the master starts from the float16 weight
            expected.add(
                    new Expected(
                            weights.get(i).toType(DataType.FLOAT32, false).toFloatArray(),
                            DECAYS[i]));
        }
        ResumableAdamW adam = optimizer();
        for (int t = 1; t <= 4; t++) {
            adam.setGradientScale(1f / 1024);
            List<float[]> grads = randomPerParameter();
            for (float[] g : grads) {
                for (int k = 0; k < g.length; k++) {
                    g[k] = toHalf(g[k] * 1024); // scaled float16 gradients, as fp16 training makes
                }
            }
            adam.update(IDS, weights, flat(grads, DataType.FLOAT16));
            for (int i = 0; i < IDS.size(); i++) {
                expected.get(i).step(grads.get(i), lr, 1.0 / 1024);
            }
        }
        Map<String, String> names = new HashMap<>();
        IDS.forEach(id -> names.put(id, "block." + id));
        Map<String, NDArray> state =
                byName(adam.exportState(names, manager.getDevice(), new HashMap<>()));
        for (int i = 0; i < IDS.size(); i++) {
            NDArray master = state.get("block." + IDS.get(i) + ".master");
            assertEquals(SHAPES.get(i), master.getShape());
            assertArrayEquals(toFloat(expected.get(i).w), master.toFloatArray(), 1e-6f, IDS.get(i));
            assertEquals(DataType.FLOAT16, weights.get(i).getDataType());
            assertArrayEquals(
                    master.toType(DataType.FLOAT16, false)
                            .toType(DataType.FLOAT32, false)
                            .toFloatArray(),
                    weights.get(i).toType(DataType.FLOAT32, false).toFloatArray(),
                    0f,
                    "the float16 weight is its master's rounding");
        }
    }

    @Test
    void eachParameterCountsItsOwnSteps() {
        List<float[]> start = randomPerParameter();
        List<float[]> firstGrads = randomPerParameter();
        // a run that trained only the matrix for two steps
        NDArray matrix = manager.create(start.get(0), SHAPES.get(0));
        Expected matrixExpected = new Expected(start.get(0), true);
        ResumableAdamW before = optimizer();
        for (int t = 0; t < 2; t++) {
            before.update(
                    List.of("matrix"),
                    List.of(matrix),
                    flat(List.of(firstGrads.get(t == 0 ? 0 : 2)), DataType.FLOAT32));
            matrixExpected.step(firstGrads.get(t == 0 ? 0 : 2), lr, 1);
        }
        Map<String, Integer> steps = new HashMap<>();
        Map<String, NDArray> saved =
                byName(before.exportState(Map.of("matrix", "matrix"), matrix.getDevice(), steps));
        assertEquals(Map.of("matrix", 2), steps);

        // continues with all five: the matrix at steps 3..5, the others at 1..3
        List<float[]> values = new ArrayList<>(start);
        values.set(0, matrix.toFloatArray());
        List<NDArray> weights = weights(values, DataType.FLOAT32);
        List<Expected> expected = new ArrayList<>();
        expected.add(matrixExpected);
        for (int i = 1; i < IDS.size(); i++) {
            expected.add(new Expected(start.get(i), DECAYS[i]));
        }
        ResumableAdamW after = optimizer();
        after.importState("matrix", weights.get(0), saved, "matrix", 2);
        for (int t = 0; t < 3; t++) {
            List<float[]> grads = randomPerParameter();
            after.update(IDS, weights, flat(grads, DataType.FLOAT32));
            for (int i = 0; i < IDS.size(); i++) {
                expected.get(i).step(grads.get(i), lr, 1);
            }
        }
        assertEquals(5, after.steps("matrix"));
        assertEquals(3, after.steps("cube"));
        for (int i = 0; i < IDS.size(); i++) {
            assertArrayEquals(
                    toFloat(expected.get(i).w), weights.get(i).toFloatArray(), 1e-6f, IDS.get(i));
        }
    }

    @Test
    void exportedStateContinuesBitForBit() throws Exception {
        for (DataType type : List.of(DataType.FLOAT32, DataType.FLOAT16)) {
            List<float[]> start = randomPerParameter();
            List<List<float[]>> grads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                grads.add(randomPerParameter());
            }
            List<NDArray> straight = weights(start, type);
            ResumableAdamW first = optimizer();
            for (List<float[]> g : grads) {
                first.update(IDS, straight, flat(g, type));
            }

            List<NDArray> resumed = weights(start, type);
            ResumableAdamW before = optimizer();
            before.update(IDS, resumed, flat(grads.get(0), type));
            before.update(IDS, resumed, flat(grads.get(1), type));
            Map<String, String> names = new HashMap<>();
            IDS.forEach(id -> names.put(id, "layer." + id));
            Map<String, Integer> steps = new HashMap<>();
            NDList state = before.exportState(names, manager.getDevice(), steps);
            assertEquals(type == DataType.FLOAT16 ? 15 : 10, state.size());
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            state.encode(bytes);
            Map<String, NDArray> byName = byName(NDList.decode(manager, bytes.toByteArray()));
            assertArrayEquals(
                    state.get(0).toFloatArray(),
                    byName.get(state.get(0).getName()).toFloatArray(),
                    0f);

            // a new run: new ids, weights as the checkpoint stored them
            List<String> otherIds = new ArrayList<>();
            IDS.forEach(id -> otherIds.add("other-" + id));
            List<NDArray> reloaded = new ArrayList<>();
            for (NDArray weight : resumed) {
                reloaded.add(weight.duplicate());
            }
            ResumableAdamW after = optimizer();
            for (int i = 0; i < IDS.size(); i++) {
                after.importState(
                        otherIds.get(i),
                        reloaded.get(i),
                        byName,
                        "layer." + IDS.get(i),
                        steps.get("layer." + IDS.get(i)));
            }
            assertEquals(2, after.steps("other-cube"));
            after.update(otherIds, reloaded, flat(grads.get(2), type));
            after.update(otherIds, reloaded, flat(grads.get(3), type));
            for (int i = 0; i < IDS.size(); i++) {
                assertArrayEquals(
                        straight.get(i).toType(DataType.FLOAT32, false).toFloatArray(),
                        reloaded.get(i).toType(DataType.FLOAT32, false).toFloatArray(),
                        0f,
                        type + " " + IDS.get(i));
            }
        }
    }

    @Test
    void importRejectsMissingOrMisshapedState() {
        NDArray weight = manager.zeros(new Shape(2, 3));
        Map<String, NDArray> byName = new HashMap<>();
        byName.put("layer.weight.m", manager.zeros(new Shape(3, 2)));
        byName.put("layer.weight.v", manager.zeros(new Shape(2, 3)));
        ResumableAdamW adam = optimizer();
        IllegalArgumentException wrongShape =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> adam.importState("x", weight, byName, "layer.weight", 2));
        assertEquals(
                "optimizer state layer.weight.m has shape (3, 2), the model needs (2, 3)",
                wrongShape.getMessage());
        byName.put("layer.weight.m", manager.zeros(new Shape(2, 3)));
        IllegalArgumentException missing =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                adam.importState(
                                        "x",
                                        weight.toType(DataType.FLOAT16, false),
                                        byName,
                                        "layer.weight",
                                        2));
        assertEquals("optimizer state has no array layer.weight.master", missing.getMessage());

        adam.update(List.of("x"), List.of(weight), manager.zeros(new Shape(6)));
        assertThrows(
                IllegalStateException.class,
                () -> adam.importState("x", weight, byName, "layer.weight", 2));
        assertThrows(
                IllegalArgumentException.class,
                () -> adam.update(List.of("x"), List.of(weight), manager.zeros(new Shape(5))));
        assertThrows(
                IllegalArgumentException.class,
                () -> adam.update(List.of("y"), List.of(weight), manager.zeros(new Shape(6))));
    }

    /**
     * The work of a step barely grows with the number of parameters: 400 parameters of 16 elements
     * take far less than 400 times a step over one of 16 (a per-parameter AdamW issues some 17
     * engine calls a parameter; this one issues one).
     */
    @Test
    void stepCostIsNearlyIndependentOfTheParameterCount() {
        double one = secondsPerStep(1);
        double many = secondsPerStep(400);
        assertTrue(many < 100 * one, "400 parameters: " + many + " s a step, one: " + one + " s");
    }

    private double secondsPerStep(int count) {
        List<String> ids = new ArrayList<>();
        List<NDArray> weights = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add("p" + i);
            weights.add(manager.create(randomFloats(16), new Shape(4, 4)));
        }
        NDArray gradient = manager.create(randomFloats(16L * count));
        ResumableAdamW adam = optimizer();
        for (int i = 0; i < 20; i++) {
            adam.update(ids, weights, gradient);
        }
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long start = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                adam.update(ids, weights, gradient);
            }
            best = Math.min(best, System.nanoTime() - start);
        }
        return best / 20 / 1e9;
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

    private static Map<String, NDArray> byName(NDList arrays) {
        Map<String, NDArray> byName = new HashMap<>();
        arrays.forEach(a -> byName.put(a.getName(), a));
        return byName;
    }

    /** Rounds to the nearest float16 value (normal range), as a float. */
    private static float toHalf(float value) {
        int bits = Float.floatToIntBits(value);
        int rounded = (bits + 0x0FFF + ((bits >> 13) & 1)) & 0xFFFFE000;
        return Float.intBitsToFloat(rounded);
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

package ai.natten.zoo.nat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NatModelTest {

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** A tiny DiNAT for 28x28 grayscale digits: 7x7 tokens, then 4x4. */
    static NatConfig.Builder tinyGrayscale() {
        return NatConfig.builder()
                .setEmbedDim(16)
                .setDepths(2, 2)
                .setHeads(2, 4)
                .optKernelSize(3)
                .optDilations(new int[] {1, 2}, new int[] {1, 1})
                .optMlpRatio(2)
                .optLayerScale(0.5f)
                .optInChannels(1)
                .optImageSize(28)
                .optNumClasses(10);
    }

    @Test
    void tinyModelForGrayscaleDigitsTrains() {
        NatModel model = new NatModel(tinyGrayscale().optDropPathRate(0.1f).build());
        Shape input = new Shape(4, 1, 28, 28);
        model.initialize(manager, DataType.FLOAT32, input);
        assertEquals(new Shape(4, 10), model.getOutputShapes(new Shape[] {input})[0]);
        NDArray images = manager.randomNormal(input);
        NDArray labels = manager.create(new float[] {1, 3, 5, 7});
        ParameterStore store = new ParameterStore(manager, false);

        float[] eval1 = model.forward(store, new NDList(images), false).head().toFloatArray();
        float[] eval2 = model.forward(store, new NDList(images), false).head().toFloatArray();
        assertArrayEquals(eval1, eval2, "inference is deterministic");
        assertEquals(40, eval1.length);

        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray logits = model.forward(store, new NDList(images), true).head();
            NDArray loss =
                    Loss.softmaxCrossEntropyLoss().evaluate(new NDList(labels), new NDList(logits));
            collector.backward(loss);
        }
        for (Pair<String, Parameter> p : model.getParameters()) {
            NDArray grad = p.getValue().getArray().getGradient();
            assertTrue(
                    grad.abs().sum().getFloat() > 0,
                    "parameter " + p.getKey() + " received no gradient");
        }
    }

    @Test
    void layerScaleAndBiasTablesHaveTheirShapes() {
        NatModel model = new NatModel(tinyGrayscale().build());
        model.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
        long gammas = 0;
        long rpbs = 0;
        for (Pair<String, Parameter> p : model.getParameters()) {
            Shape shape = p.getValue().getArray().getShape();
            if (p.getKey().endsWith("gamma1") || p.getKey().endsWith("gamma2")) {
                gammas++;
                assertTrue(shape.equals(new Shape(16)) || shape.equals(new Shape(32)), p.getKey());
                assertEquals(0.5f, p.getValue().getArray().getFloat(0), p.getKey());
            }
            if (p.getKey().endsWith("rpb")) {
                rpbs++;
                assertEquals(5, shape.get(1), p.getKey());
                assertEquals(5, shape.get(2), p.getKey());
            }
        }
        assertEquals(8, gammas);
        assertEquals(4, rpbs);
    }

    @Test
    void dropPathFollowsTheLinearRule() {
        NatConfig config = NatVariants.natTiny().build();
        assertEquals(0f, config.dropPath(0, 0));
        assertEquals(0.2f, config.dropPath(3, 4), 1e-7);
        assertEquals(0.2 * 7 / 29, config.dropPath(2, 0), 1e-7);
        assertArrayEquals(new int[] {1, 8, 1}, NatVariants.dinatTiny().build().dilations()[0]);
        assertArrayEquals(
                new int[] {1, 2, 1, 2, 1, 2}, NatVariants.dinatMini().build().dilations()[2]);
        assertArrayEquals(new int[] {1, 13, 1}, NatVariants.dinatLarge384().build().dilations()[0]);
    }

    @Test
    void dropPathDropsWholeSamplesOnlyInTraining() {
        NDArray branch = manager.ones(new Shape(4000, 2, 3));
        assertEquals(branch, DropPath.apply(branch, 0.25f, false), "identity in inference");
        float[] kept = DropPath.apply(branch, 0.25f, true).toFloatArray();
        int dropped = 0;
        for (int sample = 0; sample < 4000; sample++) {
            float first = kept[6 * sample];
            assertTrue(first == 0f || Math.abs(first - 1f / 0.75f) < 1e-6, "value " + first);
            for (int i = 1; i < 6; i++) {
                assertEquals(first, kept[6 * sample + i], "one decision per sample");
            }
            dropped += first == 0f ? 1 : 0;
        }
        assertEquals(1000, dropped, 120, "about a quarter of the samples dropped");
    }

    @Test
    void inputsSmallerThanTheWindowArePadded() {
        // A 32x32 image gives 8x8 tokens: DiNAT-Mini's 7x8 window needs padding at every level.
        NatModel model = new NatModel(NatVariants.dinatMini().optNumClasses(5).build());
        Shape input = new Shape(1, 3, 32, 32);
        model.setInitializer(new ai.djl.training.initializer.NormalInitializer(0.02f), p -> true);
        model.initialize(manager, DataType.FLOAT32, input);
        NDArray out =
                model.forward(
                                new ParameterStore(manager, false),
                                new NDList(manager.randomNormal(input)),
                                false)
                        .head();
        assertEquals(new Shape(1, 5), out.getShape());
        float[] values = out.toFloatArray();
        for (float v : values) {
            assertTrue(Float.isFinite(v), Arrays.toString(values));
        }
    }

    @Test
    void badConfigurationsAreClearErrors() {
        assertMessage(
                "heads must have one value per level", () -> tinyGrayscale().setHeads(2).build());
        assertMessage(
                "not a multiple of its 3 heads", () -> tinyGrayscale().setHeads(3, 3).build());
        assertMessage(
                "dilations of level 1 must have one value per layer",
                () -> tinyGrayscale().optDilations(new int[] {1, 1}, new int[] {1}).build());
        assertMessage("kernelSize must be >= 2", () -> tinyGrayscale().optKernelSize(1).build());
        assertMessage(
                "dropPathRate must be in [0, 1)", () -> tinyGrayscale().optDropPathRate(1).build());
        assertMessage("unknown NAT variant 'nat_huge'", () -> NatVariants.byName("nat_huge"));
        NatModel model = new NatModel(tinyGrayscale().build());
        assertMessage(
                "expects images [B, 1, H, W]",
                () -> model.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 28, 28)));
    }

    private static void assertMessage(String fragment, Runnable action) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(e.getMessage().contains(fragment), "message: " + e.getMessage());
        assertFalse(e.getMessage().isEmpty());
    }
}

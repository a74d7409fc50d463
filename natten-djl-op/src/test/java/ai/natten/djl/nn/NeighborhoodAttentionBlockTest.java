package ai.natten.djl.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.Pair;
import ai.natten.core.NaOptions;
import ai.natten.reference.RandomProblems;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NeighborhoodAttentionBlockTest {

    private final Random random = new Random();
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** A random layer geometry of one rank. */
    private final class Config {
        final int rank;
        final int batch = 1 + random.nextInt(2);
        final int heads = 1 + random.nextInt(3);
        final int channels = heads * (1 + random.nextInt(4));
        final int[] kernel;
        final int[] dilation;
        final int[] stride;
        final boolean[] causal;
        final int[] spatial;
        final int[] padded;
        final boolean rpb = random.nextBoolean();
        final boolean qkvBias = random.nextBoolean();
        final boolean pad;

        Config(int rank, boolean pad) {
            this.rank = rank;
            this.pad = pad;
            kernel = new int[rank];
            dilation = new int[rank];
            stride = new int[rank];
            causal = new boolean[rank];
            spatial = new int[rank];
            padded = new int[rank];
            for (int axis = 0; axis < rank; axis++) {
                kernel[axis] = 2 + random.nextInt(3);
                dilation[axis] = 1 + random.nextInt(2);
                stride[axis] = 1 + random.nextInt(kernel[axis]);
                causal[axis] = !rpb && random.nextInt(3) == 0;
                int window = kernel[axis] * dilation[axis];
                spatial[axis] = pad ? 1 + random.nextInt(window + 1) : window + random.nextInt(3);
                padded[axis] = Math.max(spatial[axis], window);
            }
        }

        NaOptions options() {
            return NaOptions.builder()
                    .setKernelSize(kernel)
                    .optDilation(dilation)
                    .optStride(stride)
                    .optCausal(causal)
                    .build();
        }

        NeighborhoodAttentionBlock block() {
            NeighborhoodAttentionBlock.Builder<?> b =
                    switch (rank) {
                        case 1 -> NeighborhoodAttention1d.builder();
                        case 2 -> NeighborhoodAttention2d.builder();
                        default -> NeighborhoodAttention3d.builder();
                    };
            NeighborhoodAttentionBlock block =
                    build(
                            b.setEmbedDim(channels)
                                    .setHeads(heads)
                                    .setKernelSize(kernel)
                                    .optDilation(dilation)
                                    .optStride(stride)
                                    .optCausal(causal)
                                    .optQkvBias(qkvBias)
                                    .optRelativePositionBias(rpb)
                                    .optPadSmallInputs(pad));
            // Non-zero biases and bias tables so that every parameter matters.
            block.setInitializer(new NormalInitializer(0.5f), p -> true);
            block.initialize(manager, DataType.FLOAT32, inputShape());
            return block;
        }

        Shape inputShape() {
            long[] shape = new long[rank + 2];
            shape[0] = batch;
            for (int axis = 0; axis < rank; axis++) {
                shape[axis + 1] = spatial[axis];
            }
            shape[rank + 1] = channels;
            return new Shape(shape);
        }

        HandAttention hand(NeighborhoodAttentionBlock block) {
            return new HandAttention(
                    batch,
                    spatial,
                    padded,
                    heads,
                    channels,
                    options(),
                    param(block, "qkv_weight"),
                    qkvBias ? param(block, "qkv_bias") : null,
                    param(block, "proj_weight"),
                    param(block, "proj_bias"),
                    rpb ? param(block, "rpb") : null);
        }

        @Override
        public String toString() {
            return "rank="
                    + rank
                    + " B="
                    + batch
                    + " spatial="
                    + Arrays.toString(spatial)
                    + " C="
                    + channels
                    + " heads="
                    + heads
                    + " "
                    + options()
                    + " rpb="
                    + rpb
                    + " qkvBias="
                    + qkvBias
                    + " pad="
                    + pad;
        }
    }

    private static NeighborhoodAttentionBlock build(NeighborhoodAttentionBlock.Builder<?> b) {
        if (b instanceof NeighborhoodAttention1d.Builder b1) {
            return b1.build();
        }
        if (b instanceof NeighborhoodAttention2d.Builder b2) {
            return b2.build();
        }
        return ((NeighborhoodAttention3d.Builder) b).build();
    }

    private static float[] param(NeighborhoodAttentionBlock block, String name) {
        return parameter(block, name).getArray().toFloatArray();
    }

    /** The parameter whose name ends in {@code suffix} (DJL prefixes child names with an index). */
    private static Parameter parameter(NeighborhoodAttentionBlock block, String suffix) {
        Parameter found = null;
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getKey().endsWith(suffix)) {
                assertEquals(null, found, "two parameters end in " + suffix);
                found = p.getValue();
            }
        }
        assertTrue(found != null, "no parameter ends in " + suffix);
        return found;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void forwardAndGradientsEqualTheHandComputation(int rank) {
        for (int trial = 0; trial < 6; trial++) {
            Config config = new Config(rank, trial % 3 == 2);
            NeighborhoodAttentionBlock block = config.block();
            HandAttention hand = config.hand(block);
            float[] x = RandomProblems.normal(random, (int) config.inputShape().size(), 1.0);
            float[] want = hand.forward(x);
            float[] dOut = RandomProblems.normal(random, want.length, 1.0);
            HandAttention.Grads grads = hand.backward(dOut);

            NDArray input = manager.create(x, config.inputShape());
            ParameterStore store = new ParameterStore(manager, false);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray out = block.forward(store, new NDList(input), true).singletonOrThrow();
                assertEquals(config.inputShape(), out.getShape());
                assertClose(want, out.toFloatArray(), 1e-4, "out " + config);
                collector.backward(out.mul(manager.create(dOut, out.getShape())).sum());
            }
            assertClose(grads.qkvWeight(), grad(block, "qkv_weight"), 1e-4, "dqkv_w " + config);
            assertClose(grads.projWeight(), grad(block, "proj_weight"), 1e-4, "dproj_w");
            assertClose(grads.projBias(), grad(block, "proj_bias"), 1e-4, "dproj_b " + config);
            if (config.qkvBias) {
                assertClose(grads.qkvBias(), grad(block, "qkv_bias"), 1e-4, "dqkv_b " + config);
            }
            if (config.rpb) {
                assertClose(grads.rpb(), grad(block, "rpb"), 1e-4, "drpb " + config);
            }
            assertEquals(
                    (config.qkvBias ? 4 : 3) + (config.rpb ? 1 : 0),
                    block.getParameters().size(),
                    "parameter count " + config);
        }
    }

    private static float[] grad(NeighborhoodAttentionBlock block, String name) {
        return parameter(block, name).getArray().getGradient().toFloatArray();
    }

    @Test
    void rpbHasTheNattenShape() {
        NeighborhoodAttention2d block =
                NeighborhoodAttention2d.builder()
                        .setEmbedDim(12)
                        .setHeads(3)
                        .setKernelSize(7, 5)
                        .optRelativePositionBias(true)
                        .build();
        block.initialize(manager, DataType.FLOAT32, new Shape(1, 9, 9, 12));
        assertEquals(new Shape(3, 13, 9), parameter(block, "rpb").getArray().getShape());
        assertEquals(new Shape(36, 12), parameter(block, "qkv_weight").getArray().getShape());
        assertEquals(new Shape(12, 12), parameter(block, "proj_weight").getArray().getShape());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void savedParametersLoadExactly(int rank) throws IOException, MalformedModelException {
        Config config = new Config(rank, false);
        NeighborhoodAttentionBlock saved = config.block();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        saved.saveParameters(new DataOutputStream(bytes));

        NeighborhoodAttentionBlock loaded = config.block(); // fresh random parameters
        loaded.loadParameters(
                manager, new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        for (Pair<String, Parameter> p : saved.getParameters()) {
            NDArray want = p.getValue().getArray();
            NDArray got = loaded.getParameters().get(p.getKey()).getArray();
            assertEquals(want.getShape(), got.getShape(), p.getKey());
            assertArrayEquals(want.toFloatArray(), got.toFloatArray(), p.getKey());
        }
        NDArray input =
                manager.create(
                        RandomProblems.normal(random, (int) config.inputShape().size(), 1.0),
                        config.inputShape());
        ParameterStore store = new ParameterStore(manager, false);
        assertArrayEquals(
                saved.forward(store, new NDList(input), false).singletonOrThrow().toFloatArray(),
                loaded.forward(store, new NDList(input), false).singletonOrThrow().toFloatArray());
    }

    @Test
    void dropoutActsOnlyInTraining() {
        NeighborhoodAttention1d block =
                NeighborhoodAttention1d.builder()
                        .setEmbedDim(8)
                        .setHeads(2)
                        .setKernelSize(5)
                        .optAttentionDropout(0.5f)
                        .optProjectionDropout(0.5f)
                        .build();
        block.initialize(manager, DataType.FLOAT32, new Shape(2, 16, 8));
        NDArray input = manager.randomNormal(new Shape(2, 16, 8));
        ParameterStore store = new ParameterStore(manager, false);
        float[] eval1 = block.forward(store, new NDList(input), false).head().toFloatArray();
        float[] eval2 = block.forward(store, new NDList(input), false).head().toFloatArray();
        float[] train = block.forward(store, new NDList(input), true).head().toFloatArray();
        assertArrayEquals(eval1, eval2);
        assertFalse(Arrays.equals(eval1, train), "training output must differ under dropout");
        long zeros = 0;
        for (float value : train) {
            zeros += value == 0f ? 1 : 0;
        }
        assertTrue(zeros > train.length / 5, "projection dropout zeroes about half: " + zeros);
    }

    @Test
    void badSettingsAreClearErrors() {
        assertMessage(
                "multiple of heads",
                () ->
                        NeighborhoodAttention2d.builder()
                                .setEmbedDim(10)
                                .setHeads(3)
                                .setKernelSize(3)
                                .build());
        assertMessage(
                "kernelSize is required",
                () -> NeighborhoodAttention2d.builder().setEmbedDim(12).setHeads(3).build());
        assertMessage(
                "embedDim is required",
                () -> NeighborhoodAttention1d.builder().setHeads(3).setKernelSize(3).build());
        assertMessage(
                "kernelSize must be >= 2",
                () ->
                        NeighborhoodAttention1d.builder()
                                .setEmbedDim(4)
                                .setHeads(1)
                                .setKernelSize(1)
                                .build());
        assertMessage(
                "attentionDropout must be in [0, 1)",
                () ->
                        NeighborhoodAttention1d.builder()
                                .setEmbedDim(4)
                                .setHeads(1)
                                .setKernelSize(3)
                                .optAttentionDropout(1f)
                                .build());
        assertMessage(
                "cannot be used with causal",
                () ->
                        NeighborhoodAttention1d.builder()
                                .setEmbedDim(4)
                                .setHeads(1)
                                .setKernelSize(3)
                                .optCausal(true)
                                .optRelativePositionBias(true)
                                .build());
        assertMessage(
                "kernel_size must have 1 value or one per spatial axis (3)",
                () ->
                        NeighborhoodAttention3d.builder()
                                .setEmbedDim(4)
                                .setHeads(1)
                                .setKernelSize(3, 3)
                                .build());

        NeighborhoodAttention2d block =
                NeighborhoodAttention2d.builder()
                        .setEmbedDim(8)
                        .setHeads(2)
                        .setKernelSize(5)
                        .build();
        assertMessage(
                "expects input of rank 4 [B, X, Y, C]",
                () -> block.initialize(manager, DataType.FLOAT32, new Shape(1, 8, 8)));
        assertMessage(
                "must equal embedDim 8",
                () -> block.initialize(manager, DataType.FLOAT32, new Shape(1, 8, 8, 6)));
        block.initialize(manager, DataType.FLOAT32, new Shape(1, 8, 8, 8));
        NDArray small = manager.randomNormal(new Shape(1, 4, 8, 8));
        ParameterStore store = new ParameterStore(manager, false);
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> block.forward(store, new NDList(small), false));
        assertTrue(e.getMessage().contains("kernel"), e.getMessage());
    }

    private static void assertMessage(String fragment, Runnable action) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(e.getMessage().contains(fragment), "message: " + e.getMessage());
    }

    private static void assertClose(float[] want, float[] got, double tolerance, String what) {
        assertEquals(want.length, got.length, what + ": length");
        double scale = 1;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            if (Math.abs(want[i] - got[i]) > tolerance * scale) {
                throw new AssertionError(
                        what + ": index " + i + " want " + want[i] + " got " + got[i]);
            }
        }
    }
}

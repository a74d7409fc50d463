package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import ai.natten.reference.NaReference;
import ai.natten.reference.RandomProblems;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CompositeAttentionTest {

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

    @Test
    void engineLoadsOffline() {
        assertEquals("true", System.getProperty("ai.djl.offline"));
        assertEquals("PyTorch", Engine.getInstance().getEngineName());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void forwardAndGradientsEqualTheReference(int rank) {
        for (int trial = 0; trial < 12; trial++) {
            NaProblem p = RandomProblems.next(random, rank, 60, true, true);
            NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
            float[] dOut = RandomProblems.normal(random, in.q().length, 1.0);
            NaReference.Forward want = NaReference.forward(p, in);
            NaReference.Gradients grads = NaReference.backward(p, in, dOut);

            Tensors t = new Tensors(p, in);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray out = NeighborhoodAttention.na(t.q, t.k, t.v, p.options(), t.extras());
                assertClose(want.out(), out.toFloatArray(), 1e-5, "out " + p);
                // what autograd kept for the backward pass must survive reclaimed memory
                ScalarsTest.churnMemory(manager);
                collector.backward(out.mul(manager.create(dOut, out.getShape())).sum());
            }
            assertClose(grads.dq(), t.q.getGradient().toFloatArray(), 1e-5, "dq " + p);
            assertClose(grads.dk(), t.k.getGradient().toFloatArray(), 1e-5, "dk " + p);
            assertClose(grads.dv(), t.v.getGradient().toFloatArray(), 1e-5, "dv " + p);
            if (p.hasRpb()) {
                assertClose(grads.drpb(), t.rpb.getGradient().toFloatArray(), 1e-5, "drpb " + p);
            }
            if (p.additionalTokens() > 0) {
                assertClose(
                        grads.dAdditionalK(),
                        t.additionalK.getGradient().toFloatArray(),
                        1e-5,
                        "dAdditionalK " + p);
                assertClose(
                        grads.dAdditionalV(),
                        t.additionalV.getGradient().toFloatArray(),
                        1e-5,
                        "dAdditionalV " + p);
            }
        }
    }

    @Test
    void float16InputsAccumulateInFloat32() {
        for (int trial = 0; trial < 6; trial++) {
            NaProblem p = RandomProblems.next(random, 1 + random.nextInt(3), 60, true, true);
            NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
            Tensors t = new Tensors(p, in);
            NDArray out =
                    NeighborhoodAttention.na(
                            half(t.q), half(t.k), half(t.v), p.options(), t.halfExtras());
            assertEquals(DataType.FLOAT16, out.getDataType());
            NaReference.Inputs rounded =
                    new NaReference.Inputs(
                            roundTrip(t.q),
                            roundTrip(t.k),
                            roundTrip(t.v),
                            roundTrip(t.rpb),
                            roundTrip(t.additionalK),
                            roundTrip(t.additionalV));
            float[] want = NaReference.forward(p, rounded).out();
            assertClose(
                    want, out.toType(DataType.FLOAT32, false).toFloatArray(), 2e-3, "fp16 " + p);
        }
    }

    @Test
    void float16InputsGetTheirGradients() {
        // DJL's toType is not recorded by autograd: without the engine extension, float16 inputs
        // that need gradients are computed in float16 so that the gradients reach them.
        for (int trial = 0; trial < 4; trial++) {
            NaProblem p = RandomProblems.next(random, 1 + random.nextInt(3), 60, true, true);
            NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
            Tensors t = new Tensors(p, in);
            NDArray q = half(t.q);
            NDArray k = half(t.k);
            NDArray v = half(t.v);
            NaReference.Inputs rounded =
                    new NaReference.Inputs(
                            roundTrip(t.q),
                            roundTrip(t.k),
                            roundTrip(t.v),
                            roundTrip(t.rpb),
                            roundTrip(t.additionalK),
                            roundTrip(t.additionalV));
            float[] dOut = RandomProblems.normal(random, in.q().length, 1.0);
            NaReference.Gradients want = NaReference.backward(p, rounded, dOut);
            for (NDArray x : new NDArray[] {q, k, v}) {
                x.setRequiresGradient(true);
            }
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray out = NeighborhoodAttention.na(q, k, v, p.options(), t.halfExtras());
                assertEquals(DataType.FLOAT16, out.getDataType());
                NDArray weights =
                        manager.create(dOut, out.getShape()).toType(DataType.FLOAT16, false);
                collector.backward(out.mul(weights).sum());
            }
            assertClose(want.dq(), floats(q.getGradient()), 2e-2, "fp16 dq " + p);
            assertClose(want.dk(), floats(k.getGradient()), 2e-2, "fp16 dk " + p);
            assertClose(want.dv(), floats(v.getGradient()), 2e-2, "fp16 dv " + p);
        }
    }

    private static float[] floats(NDArray array) {
        return array.toType(DataType.FLOAT32, false).toFloatArray();
    }

    @Test
    void nanInOneKeyReachesOnlyItsQueries() {
        NaOptions options = NaOptions.builder().setKernelSize(3).optCausal(true).build();
        float[] k = RandomProblems.normal(random, 12 * 4, 1.0);
        k[6 * 4] = Float.NaN;
        NDArray q =
                manager.create(RandomProblems.normal(random, 12 * 4, 1.0), new Shape(1, 12, 1, 4));
        NDArray out =
                NeighborhoodAttention.na1d(
                        q,
                        manager.create(k, new Shape(1, 12, 1, 4)),
                        manager.create(
                                RandomProblems.normal(random, 12 * 4, 1.0), new Shape(1, 12, 1, 4)),
                        options);
        float[] values = out.toFloatArray();
        for (int query = 0; query < 12; query++) {
            boolean sees = query >= 6 && query <= 8;
            assertEquals(sees, Float.isNaN(values[query * 4]), "query " + query);
        }
    }

    @Test
    void badInputsAreNamed() {
        NDArray q = manager.randomNormal(new Shape(1, 8, 8, 2, 4));
        NaOptions k3 = NaOptions.builder().setKernelSize(3).build();
        assertMessage(
                "na1d expects q of rank 4 [B, X, heads, D], got shape (1, 8, 8, 2, 4)",
                () -> NeighborhoodAttention.na1d(q, q, q, k3));
        assertMessage(
                "k must have q's data type float32, got float16",
                () -> NeighborhoodAttention.na2d(q, half(q), q, k3));
        assertMessage(
                "v must be float32, float16, bfloat16 or float64, got int32",
                () -> NeighborhoodAttention.na2d(q, q, q.toType(DataType.INT32, false), k3));
        assertMessage(
                "kernel_size * dilation must be <= the spatial size on axis 0, got 3 * 3 > 8",
                () ->
                        NeighborhoodAttention.na2d(
                                q,
                                q,
                                q,
                                NaOptions.builder().setKernelSize(3).optDilation(3).build()));
        assertMessage(
                "rpb must be [2, 5, 5]",
                () ->
                        NeighborhoodAttention.na2d(
                                q,
                                q,
                                q,
                                k3,
                                NaExtras.builder()
                                        .optRpb(manager.zeros(new Shape(2, 5, 3)))
                                        .build()));
        IllegalStateException fused =
                assertThrows(
                        IllegalStateException.class,
                        () ->
                                NeighborhoodAttention.na2d(
                                        q,
                                        q,
                                        q,
                                        k3,
                                        NaExtras.builder().optBackend(NaBackend.FUSED).build()));
        assertTrue(
                fused.getMessage()
                        .startsWith(
                                "NaBackend.FUSED cannot run this call: the inputs are on cpu()"),
                fused.getMessage());
    }

    private static void assertMessage(String expected, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static NDArray half(NDArray array) {
        return array == null ? null : array.toType(DataType.FLOAT16, false);
    }

    /** Returns the values of an array after a round trip through float16. */
    private static float[] roundTrip(NDArray array) {
        return array == null ? null : half(array).toType(DataType.FLOAT32, false).toFloatArray();
    }

    static void assertClose(float[] want, float[] got, double tolerance, String what) {
        assertEquals(want.length, got.length, what);
        double err = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            err += ((double) want[i] - got[i]) * ((double) want[i] - got[i]);
            norm += (double) want[i] * want[i];
        }
        assertTrue(
                Math.sqrt(err) <= tolerance * Math.sqrt(norm),
                what + ": relative error " + Math.sqrt(err / norm));
    }

    /** The reference inputs as DJL arrays that collect gradients. */
    private final class Tensors {
        final NDArray q;
        final NDArray k;
        final NDArray v;
        final NDArray rpb;
        final NDArray additionalK;
        final NDArray additionalV;

        Tensors(NaProblem p, NaReference.Inputs in) {
            q = input(in.q(), p.queryShape());
            k = input(in.k(), p.kvShape());
            v = input(in.v(), p.kvShape());
            rpb = input(in.rpb(), p.rpbShape());
            additionalK = input(in.additionalK(), p.additionalKvShape());
            additionalV = input(in.additionalV(), p.additionalKvShape());
        }

        NaExtras extras() {
            return NaExtras.builder()
                    .optRpb(rpb)
                    .optAdditionalKv(additionalK, additionalV)
                    .optBackend(NaBackend.COMPOSITE)
                    .build();
        }

        NaExtras halfExtras() {
            return NaExtras.builder()
                    .optRpb(half(rpb))
                    .optAdditionalKv(half(additionalK), half(additionalV))
                    .build();
        }

        private NDArray input(float[] values, long[] shape) {
            if (values == null) {
                return null;
            }
            NDArray array = manager.create(values, new Shape(shape));
            array.setRequiresGradient(true);
            return array;
        }
    }
}

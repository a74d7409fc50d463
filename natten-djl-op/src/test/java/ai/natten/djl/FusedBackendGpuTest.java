package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.natten.core.NaProblem;
import ai.natten.reference.NaReference;
import ai.natten.reference.RandomProblems;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused backend inside DJL autograd equals the composite backend: forward and every gradient
 * through {@link GradientCollector}, on fresh random problems of rank 1 to 3 (kernel, dilation,
 * stride, causal per axis, GQA, rpb, additional tokens), in float32 and bfloat16.
 */
@GpuTest
class FusedBackendGpuTest {

    private static final int[] HEAD_DIMS = {8, 16, 32, 64, 128};
    private final Random random = new Random();
    private NDManager manager;

    @BeforeEach
    void open() {
        GpuTest.Condition.require();
        manager = NDManager.newBaseManager(Device.gpu(0));
    }

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void float32ForwardAndGradientsEqualComposite(int rank) {
        for (int trial = 0; trial < 8; trial++) {
            NaProblem p = withHeadDim(RandomProblems.next(random, rank, 300, true, true));
            compare(p, DataType.FLOAT32, 2e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void bfloat16ForwardAndGradientsEqualComposite(int rank) {
        for (int trial = 0; trial < 4; trial++) {
            NaProblem p = withHeadDim(RandomProblems.next(random, rank, 300, true, true));
            compare(p, DataType.BFLOAT16, 2e-2);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void inferenceForwardEqualsComposite(int rank) {
        for (DataType type :
                new DataType[] {DataType.FLOAT32, DataType.FLOAT16, DataType.BFLOAT16}) {
            for (int trial = 0; trial < 4; trial++) {
                NaProblem p = withHeadDim(RandomProblems.next(random, rank, 300, true, true));
                NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
                try (NDManager scope = manager.newSubManager()) {
                    NDArray q = cast(scope.create(in.q(), new Shape(p.queryShape())), type);
                    NDArray k = cast(scope.create(in.k(), new Shape(p.kvShape())), type);
                    NDArray v = cast(scope.create(in.v(), new Shape(p.kvShape())), type);
                    NaExtras extras =
                            NaExtras.builder()
                                    .optRpb(optional(scope, in.rpb(), p.rpbShape(), type))
                                    .optAdditionalKv(
                                            optional(
                                                    scope,
                                                    in.additionalK(),
                                                    p.additionalKvShape(),
                                                    type),
                                            optional(
                                                    scope,
                                                    in.additionalV(),
                                                    p.additionalKvShape(),
                                                    type))
                                    .build();
                    NDArray composite = CompositeAttention.forward(p, type, q, k, v, extras);
                    NDArray fused =
                            FusedAttention.forward(
                                    p, type, q, k, v, extras, JcudaFusedKernels.INSTANCE);
                    CompositeAttentionTest.assertClose(
                            floats(composite),
                            floats(fused),
                            type == DataType.FLOAT32 ? 2e-5 : 2e-2,
                            "out " + type + " " + p);
                }
            }
        }
    }

    private static NDArray cast(NDArray array, DataType type) {
        switch (type) {
            case BFLOAT16:
                return TorchExtension.toBfloat16(array);
            case FLOAT16:
                return array.toType(DataType.FLOAT16, false);
            default:
                return array;
        }
    }

    private static NDArray optional(NDManager scope, float[] values, long[] shape, DataType type) {
        return values == null ? null : cast(scope.create(values, new Shape(shape)), type);
    }

    /**
     * Runs both backends on the same inputs (rounded to the type) and compares out, dq, dk, dv, d
     * rpb and the additional tokens' gradients by relative norm error.
     */
    private void compare(NaProblem p, DataType type, double tolerance) {
        NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
        float[] dOut = RandomProblems.normal(random, in.q().length, 1.0);
        List<float[]> composite = run(p, in, dOut, type, NaBackend.COMPOSITE);
        List<float[]> fused = run(p, in, dOut, type, NaBackend.FUSED);
        String[] names = {"out", "dq", "dk", "dv", "drpb", "dAdditionalK", "dAdditionalV"};
        assertEquals(composite.size(), fused.size());
        for (int i = 0; i < composite.size(); i++) {
            CompositeAttentionTest.assertClose(
                    composite.get(i), fused.get(i), tolerance, names[i] + " " + type + " " + p);
        }
    }

    private List<float[]> run(
            NaProblem p, NaReference.Inputs in, float[] dOut, DataType type, NaBackend backend) {
        List<float[]> results = new ArrayList<>();
        try (NDManager scope = manager.newSubManager()) {
            NDArray q = input(scope, in.q(), p.queryShape(), type);
            NDArray k = input(scope, in.k(), p.kvShape(), type);
            NDArray v = input(scope, in.v(), p.kvShape(), type);
            NDArray rpb = input(scope, in.rpb(), p.rpbShape(), type);
            NDArray addK = input(scope, in.additionalK(), p.additionalKvShape(), type);
            NDArray addV = input(scope, in.additionalV(), p.additionalKvShape(), type);
            NaExtras extras =
                    NaExtras.builder()
                            .optRpb(rpb)
                            .optAdditionalKv(addK, addV)
                            .optBackend(backend)
                            .build();
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray out = NeighborhoodAttention.na(q, k, v, p.options(), extras);
                results.add(floats(out));
                NDArray weights = scope.create(dOut, out.getShape());
                collector.backward(TorchExtension.toFloat32(out).mul(weights).sum());
            }
            for (NDArray x : new NDArray[] {q, k, v, rpb, addK, addV}) {
                if (x != null) {
                    results.add(floats(x.getGradient()));
                }
            }
        }
        return results;
    }

    /** A GPU input that collects its gradient, in the given type. */
    private static NDArray input(NDManager scope, float[] values, long[] shape, DataType type) {
        if (values == null) {
            return null;
        }
        NDArray array = scope.create(values, new Shape(shape));
        if (type == DataType.BFLOAT16) {
            array = TorchExtension.toBfloat16(array);
        }
        array.setRequiresGradient(true);
        return array;
    }

    private static float[] floats(NDArray array) {
        return TorchExtension.toFloat32(array).toFloatArray();
    }

    /** The problem with a head dim the fused kernels take (a multiple of 8). */
    private NaProblem withHeadDim(NaProblem p) {
        return NaProblem.builder()
                .setOptions(p.options())
                .setBatch(p.batch())
                .setSpatialSize(p.spatialSizes())
                .setHeads(p.heads())
                .optKvHeads(p.kvHeads())
                .setHeadDim(HEAD_DIMS[random.nextInt(HEAD_DIMS.length)])
                .optRpb(p.hasRpb())
                .optAdditionalTokens(p.additionalTokens())
                .build();
    }

    @Test
    void autoPicksFusedOnTheGpu() {
        NaProblem p = withHeadDim(RandomProblems.next(random, 2, 100, false, false));
        NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
        NDArray q = manager.create(in.q(), new Shape(p.queryShape()));
        NDArray k = manager.create(in.k(), new Shape(p.kvShape()));
        NDArray v = manager.create(in.v(), new Shape(p.kvShape()));
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            q.setRequiresGradient(true);
            NDArray out = NeighborhoodAttention.na(q, k, v, p.options(), NaExtras.NONE);
            String node = JniUtils.getGradientFunctionNames((PtNDArray) out);
            assertTrue(node.contains("NeighborhoodAttention"), "AUTO ran " + node);
            collector.backward(out.sum());
        }
    }
}

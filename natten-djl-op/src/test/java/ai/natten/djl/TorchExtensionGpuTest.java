package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import ai.natten.reference.RandomProblems;
import java.lang.reflect.Constructor;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The engine extension on a GPU: bfloat16 arrays, data addresses, the allocator statistics, and the
 * autograd plumbing (forward on the caller's thread, backward on PyTorch's autograd thread, errors
 * from either reaching the caller). Skipped where no extension or GPU is present.
 */
@GpuTest
class TorchExtensionGpuTest {

    private static final Device GPU = Device.gpu(0);
    private final Random random = new Random();
    private NDManager manager;

    @BeforeEach
    void open() {
        GpuTest.Condition.require();
        manager = NDManager.newBaseManager(GPU);
    }

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    @Test
    void bfloat16RoundTripsAndCarriesGradients() {
        float[] values = RandomProblems.normal(random, 4 * 6, 3.0);
        NDArray x = manager.create(values, new Shape(4, 6));
        x.setRequiresGradient(true);
        float[] weights = RandomProblems.normal(random, 4 * 6, 1.0);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray half = TorchExtension.toBfloat16(x);
            assertEquals(DataType.BFLOAT16, half.getDataType());
            NDArray derived = half.reshape(6, 4);
            assertEquals(DataType.BFLOAT16, TorchExtension.dataType(derived));
            NDArray back = TorchExtension.toFloat32(half);
            assertEquals(DataType.FLOAT32, back.getDataType());
            float[] rounded = back.toFloatArray();
            for (int i = 0; i < values.length; i++) {
                assertEquals(bfloat16(values[i]), rounded[i], "element " + i);
            }
            collector.backward(back.mul(manager.create(weights, new Shape(4, 6))).sum());
        }
        float[] grad = x.getGradient().toFloatArray();
        for (int i = 0; i < weights.length; i++) {
            assertEquals(bfloat16(weights[i]), grad[i], "gradient " + i);
        }
    }

    @Test
    void emptyArraysAddressesAndContiguity() {
        NDArray empty = TorchExtension.empty(manager, new Shape(3, 5), DataType.BFLOAT16, GPU);
        assertEquals(DataType.BFLOAT16, empty.getDataType());
        assertEquals(new Shape(3, 5), empty.getShape());
        assertEquals(GPU, empty.getDevice());
        NDArray a = manager.randomNormal(new Shape(4, 8));
        NDArray b = manager.randomNormal(new Shape(4, 8));
        long pa = TorchExtension.dataPointer(a);
        assertNotEquals(0L, pa);
        assertNotEquals(pa, TorchExtension.dataPointer(b));
        assertEquals(pa, TorchExtension.dataPointer(TorchExtension.contiguous(a)));
        NDArray transposed = a.transpose();
        NDArray packed = TorchExtension.contiguous(transposed);
        assertNotEquals(pa, TorchExtension.dataPointer(packed));
        assertArrayEquals(transposed.toFloatArray(), packed.toFloatArray());
    }

    @Test
    void allocatorStatisticsFollowAllocations() {
        TorchExtension.synchronize(GPU);
        TorchExtension.resetPeakMemory(GPU);
        CudaMemory before = TorchExtension.cudaMemory(GPU);
        assertEquals(before.allocated(), before.peakAllocated());
        long bytes = 64L << 20;
        try (NDManager scope = manager.newSubManager()) {
            scope.zeros(new Shape(bytes / 4));
            CudaMemory during = TorchExtension.cudaMemory(GPU);
            assertTrue(during.allocated() - before.allocated() >= bytes, during.toString());
            assertTrue(during.reserved() >= during.allocated(), during.toString());
        }
        CudaMemory after = TorchExtension.cudaMemory(GPU);
        assertEquals(before.allocated(), after.allocated());
        assertTrue(after.peakAllocated() - before.allocated() >= bytes, after.toString());
        TorchExtension.resetPeakMemory(GPU);
        assertEquals(after.allocated(), TorchExtension.cudaMemory(GPU).peakAllocated());
    }

    @Test
    void autogradRunsTheCallbacksOnPyTorchsStreamAndThreads() {
        NaProblem problem = problem();
        CopyKernels kernels = new CopyKernels(false);
        NDArray q = input(problem.queryShape());
        NDArray k = input(problem.kvShape());
        NDArray v = input(problem.kvShape());
        float[] weights = RandomProblems.normal(random, (int) v.size(), 1.0);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray out =
                    FusedAttention.forward(
                            problem, DataType.FLOAT32, q, k, v, NaExtras.NONE, kernels);
            assertArrayEquals(v.toFloatArray(), out.toFloatArray());
            collector.backward(out.mul(manager.create(weights, out.getShape())).sum());
        }
        assertArrayEquals(weights, v.getGradient().toFloatArray());
        assertArrayEquals(new float[(int) q.size()], q.getGradient().toFloatArray());
        assertArrayEquals(new float[(int) k.size()], k.getGradient().toFloatArray());
        assertEquals(TorchExtension.currentStream(GPU), kernels.stream);
        assertEquals(2, kernels.threads.size(), "backward runs on PyTorch's device thread");
    }

    @Test
    void kernelErrorsReachTheCallerAsExceptions() {
        NaProblem problem = problem();
        NDArray q = input(problem.queryShape());
        NDArray k = input(problem.kvShape());
        NDArray v = input(problem.kvShape());
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray out =
                    FusedAttention.forward(
                            problem,
                            DataType.FLOAT32,
                            q,
                            k,
                            v,
                            NaExtras.NONE,
                            new CopyKernels(true));
            EngineException e =
                    assertThrows(EngineException.class, () -> collector.backward(out.sum()));
            assertTrue(
                    e.getMessage().contains("IllegalStateException: backward refused on purpose"),
                    e.getMessage());
        }
        FusedKernels failing = new MissingKernels();
        EngineException e =
                assertThrows(
                        EngineException.class,
                        () ->
                                FusedAttention.forward(
                                        problem,
                                        DataType.FLOAT32,
                                        q,
                                        k,
                                        v,
                                        NaExtras.NONE,
                                        failing));
        assertTrue(e.getMessage().contains("this build has no fused CUDA kernels"), e.getMessage());
    }

    private NaProblem problem() {
        return NaProblem.builder()
                .setOptions(NaOptions.builder().setKernelSize(3).build())
                .setBatch(2)
                .setSpatialSize(9, 7)
                .setHeads(2)
                .setHeadDim(16)
                .build();
    }

    private NDArray input(long[] shape) {
        NDArray array =
                manager.create(
                        RandomProblems.normal(random, (int) new Shape(shape).size(), 1.0),
                        new Shape(shape));
        array.setRequiresGradient(true);
        return array;
    }

    /** Rounds a float to the nearest bfloat16 (ties to even), as torch does. */
    private static float bfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat((bits + rounding) & 0xFFFF0000);
    }

    /**
     * Stand-in kernels that check the plumbing: out = v; dv = dOut (dq, dk stay zero); copies go
     * through the CUDA driver on the given stream.
     */
    private static final class CopyKernels implements FusedKernels {

        final Set<String> threads = ConcurrentHashMap.newKeySet();
        final boolean failBackward;
        long stream = -1;

        CopyKernels(boolean failBackward) {
            this.failBackward = failBackward;
            assertEquals(0, JCudaDriver.cuInit(0), "cuInit");
        }

        @Override
        public Availability availability() {
            return Availability.available();
        }

        @Override
        public String unsupported(NaProblem problem, DataType type, boolean backward) {
            return null;
        }

        @Override
        public void forward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
            threads.add(Thread.currentThread().getName());
            this.stream = stream;
            copy(buffers.out(), buffers.v(), problem, stream);
        }

        @Override
        public void backward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
            threads.add(Thread.currentThread().getName());
            if (failBackward) {
                throw new IllegalStateException("backward refused on purpose");
            }
            copy(buffers.dv(), buffers.dOut(), problem, stream);
        }

        private static void copy(long to, long from, NaProblem problem, long stream) {
            long bytes =
                    4L * problem.batch() * problem.tokens() * problem.heads() * problem.headDim();
            assertEquals(
                    0,
                    JCudaDriver.cuMemcpyDtoDAsync(
                            address(to), address(from), bytes, stream(stream)),
                    "cuMemcpyDtoDAsync");
            assertEquals(0, JCudaDriver.cuStreamSynchronize(stream(stream)), "cuStreamSynchronize");
        }

        private static CUdeviceptr address(long value) {
            return new CUdeviceptr().withByteOffset(value);
        }

        private static CUstream stream(long value) {
            try {
                Constructor<CUstream> raw = CUstream.class.getDeclaredConstructor(long.class);
                raw.setAccessible(true);
                return raw.newInstance(value);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}

package ai.natten.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.natten.core.NaOptions;
import java.util.Arrays;
import java.util.Locale;

/**
 * Fused vs composite on NAT-Mini-sized attention through DJL: one forward + backward of 2-D NA
 * (batch 64, 56x56, kernel 7, 2 heads of dim 32), time per step (median of 10 after 3 warm-ups,
 * device synchronized) and the peak of PyTorch's CUDA allocator above the inputs. Prints a markdown
 * table. Run on a GPU with the engine extension: {@code java ... ai.natten.djl.NaDjlBench}.
 */
public final class NaDjlBench {

    private static final int BATCH = 64;
    private static final int SIZE = 56;
    private static final int HEADS = 2;
    private static final int HEAD_DIM = 32;
    private static final int KERNEL = 7;
    private static final int WARMUP = 3;
    private static final int RUNS = 10;

    private NaDjlBench() {}

    /** Runs the benchmark. */
    public static void main(String[] args) {
        Device gpu = Device.gpu(0);
        if (!TorchExtension.isAvailable()) {
            throw new IllegalStateException(TorchExtension.unavailableReason());
        }
        System.out.printf(
                "NA 2-D fwd+bwd, B=%d, %dx%d, heads=%d, D=%d, k=%d, engine %s %s%n%n",
                BATCH,
                SIZE,
                SIZE,
                HEADS,
                HEAD_DIM,
                KERNEL,
                Engine.getInstance().getEngineName(),
                Engine.getInstance().getVersion());
        System.out.println(
                "| pass | dtype | backend | ms / step (median) | peak attention memory (MiB) |");
        System.out.println("| --- | --- | --- | --- | --- |");
        for (boolean backward : new boolean[] {false, true}) {
            String pass = backward ? "fwd+bwd" : "fwd";
            for (DataType type :
                    new DataType[] {DataType.FLOAT32, DataType.FLOAT16, DataType.BFLOAT16}) {
                double[] composite = measure(gpu, type, NaBackend.COMPOSITE, backward);
                double[] fused;
                try {
                    fused = measure(gpu, type, NaBackend.FUSED, backward);
                } catch (IllegalStateException e) {
                    System.out.printf("| %s | %s | fused | %s | |%n", pass, type, e.getMessage());
                    row(pass, type, "composite", composite);
                    continue;
                }
                row(pass, type, "composite", composite);
                row(pass, type, "fused", fused);
                System.out.printf(
                        Locale.ROOT,
                        "| %s | %s | fused advantage | %.1fx faster | %.1fx less |%n",
                        pass,
                        type,
                        composite[0] / fused[0],
                        composite[1] / fused[1]);
            }
        }
    }

    private static void row(String pass, DataType type, String backend, double[] result) {
        System.out.printf(
                Locale.ROOT,
                "| %s | %s | %s | %.2f | %.0f |%n",
                pass,
                type,
                backend,
                result[0],
                result[1]);
    }

    /** Returns {median ms per step, peak MiB above the inputs}. */
    static double[] measure(Device gpu, DataType type, NaBackend backend, boolean backward) {
        NaOptions options = NaOptions.builder().setKernelSize(KERNEL).build();
        NaExtras extras = NaExtras.builder().optBackend(backend).build();
        Shape shape = new Shape(BATCH, SIZE, SIZE, HEADS, HEAD_DIM);
        try (NDManager manager = NDManager.newBaseManager(gpu)) {
            NDArray q = input(manager, shape, type, backward);
            NDArray k = input(manager, shape, type, backward);
            NDArray v = input(manager, shape, type, backward);
            NDArray weights = manager.randomNormal(shape);
            double[] times = new double[RUNS];
            double peak = 0;
            for (int run = -WARMUP; run < RUNS; run++) {
                try (NDScope scope = new NDScope()) {
                    TorchExtension.synchronize(gpu);
                    TorchExtension.resetPeakMemory(gpu);
                    long base = TorchExtension.cudaMemory(gpu).allocated();
                    long start = System.nanoTime();
                    if (backward) {
                        try (GradientCollector collector =
                                Engine.getInstance().newGradientCollector()) {
                            NDArray out = NeighborhoodAttention.na2d(q, k, v, options, extras);
                            collector.backward(TorchExtension.toFloat32(out).mul(weights).sum());
                        }
                    } else {
                        NeighborhoodAttention.na2d(q, k, v, options, extras);
                    }
                    TorchExtension.synchronize(gpu);
                    long end = System.nanoTime();
                    if (run >= 0) {
                        times[run] = (end - start) / 1e6;
                        long bytes = TorchExtension.cudaMemory(gpu).peakAllocated() - base;
                        peak = Math.max(peak, bytes / (1024.0 * 1024.0));
                    }
                }
            }
            Arrays.sort(times);
            return new double[] {times[RUNS / 2], peak};
        }
    }

    private static NDArray input(NDManager manager, Shape shape, DataType type, boolean grad) {
        NDArray array = manager.randomNormal(shape);
        if (type == DataType.BFLOAT16) {
            array = TorchExtension.toBfloat16(array);
        } else if (type == DataType.FLOAT16) {
            array = array.toType(DataType.FLOAT16, false);
        }
        array.setRequiresGradient(grad);
        return array;
    }
}

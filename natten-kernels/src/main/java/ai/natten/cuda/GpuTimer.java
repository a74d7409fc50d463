package ai.natten.cuda;

import java.util.Arrays;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/** Times queued GPU work with CUDA events: warm-up runs, then the median of timed runs. */
public final class GpuTimer {

    private GpuTimer() {}

    /**
     * Returns the median time in milliseconds of {@code work} on {@code stream}.
     *
     * @param device the device ordinal
     * @param stream raw {@code CUstream} handle the work is queued on, 0 for the legacy stream
     * @param warmups untimed runs first (module load, caches, clocks)
     * @param runs timed runs, each between its own pair of events
     * @param work queues one run
     */
    public static double medianMillis(
            int device, long stream, int warmups, int runs, Runnable work) {
        DeviceModule module = CudaDriver.module(device);
        return module.inContext(
                () -> {
                    for (int i = 0; i < warmups; i++) {
                        work.run();
                    }
                    CUevent[] starts = new CUevent[runs];
                    CUevent[] ends = new CUevent[runs];
                    for (int i = 0; i < runs; i++) {
                        starts[i] = event();
                        ends[i] = event();
                    }
                    for (int i = 0; i < runs; i++) {
                        record(starts[i], stream);
                        work.run();
                        record(ends[i], stream);
                    }
                    double[] ms = new double[runs];
                    float[] elapsed = {0};
                    for (int i = 0; i < runs; i++) {
                        CudaDriver.check(
                                JCudaDriver.cuEventSynchronize(ends[i]),
                                () -> "cuEventSynchronize");
                        CudaDriver.check(
                                JCudaDriver.cuEventElapsedTime(elapsed, starts[i], ends[i]),
                                () -> "cuEventElapsedTime");
                        ms[i] = elapsed[0];
                        JCudaDriver.cuEventDestroy(starts[i]);
                        JCudaDriver.cuEventDestroy(ends[i]);
                    }
                    Arrays.sort(ms);
                    return ms[runs / 2];
                });
    }

    private static CUevent event() {
        CUevent e = new CUevent();
        CudaDriver.check(JCudaDriver.cuEventCreate(e, 0), () -> "cuEventCreate");
        return e;
    }

    private static void record(CUevent e, long stream) {
        CudaDriver.check(
                JCudaDriver.cuEventRecord(e, CudaDriver.stream(stream)), () -> "cuEventRecord");
    }
}

package ai.natten.cuda;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * The kernels of one device: its primary context (the one PyTorch uses) and the fatbin module
 * loaded into it once. Every driver call runs with that context pushed on the calling thread and
 * popped afterwards, so callers' own current contexts are left alone; instances are thread-safe.
 */
final class DeviceModule {

    private final int device;
    private final int computeCapability;
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final ConcurrentHashMap<String, CUfunction> functions = new ConcurrentHashMap<>();

    DeviceModule(int device, byte[] fatbin) {
        this.device = device;
        CUdevice dev = new CUdevice();
        CudaDriver.check(JCudaDriver.cuDeviceGet(dev, device), () -> "cuDeviceGet(" + device + ")");
        int[] major = {0};
        int[] minor = {0};
        CudaDriver.check(
                JCudaDriver.cuDeviceGetAttribute(
                        major,
                        CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                        dev),
                () -> "cuDeviceGetAttribute(compute capability major, " + device + ")");
        CudaDriver.check(
                JCudaDriver.cuDeviceGetAttribute(
                        minor,
                        CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                        dev),
                () -> "cuDeviceGetAttribute(compute capability minor, " + device + ")");
        computeCapability = 10 * major[0] + minor[0];
        CudaDriver.check(
                JCudaDriver.cuDevicePrimaryCtxRetain(context, dev),
                () -> "cuDevicePrimaryCtxRetain(" + device + ")");
        inContext(
                () -> {
                    CudaDriver.check(
                            JCudaDriver.cuModuleLoadData(module, fatbin),
                            () -> "cuModuleLoadData(natten.fatbin) on device " + device);
                    return null;
                });
    }

    /** Returns the device ordinal. */
    int device() {
        return device;
    }

    /** Returns the compute capability as 10 * major + minor (an H100: 90). */
    int computeCapability() {
        return computeCapability;
    }

    /**
     * Runs {@code action} with this device's primary context current on the calling thread.
     *
     * @param action the driver work
     * @return what the action returns
     */
    <T> T inContext(Supplier<T> action) {
        CudaDriver.check(
                JCudaDriver.cuCtxPushCurrent(context),
                () -> "cuCtxPushCurrent(device " + device + ")");
        try {
            return action.get();
        } finally {
            JCudaDriver.cuCtxPopCurrent(new CUcontext());
        }
    }

    /**
     * Launches a kernel on a stream.
     *
     * @param kernel the kernel's C name in the fatbin
     * @param grid grid size x, y, z
     * @param block threads per block
     * @param sharedBytes dynamic shared memory per block
     * @param stream raw {@code CUstream} handle, 0 for the legacy default stream
     * @param params the kernel parameter array (pointers to each argument)
     * @param describe what is launched with which shapes, for error messages
     */
    void launch(
            String kernel,
            int[] grid,
            int block,
            int sharedBytes,
            long stream,
            Pointer params,
            Supplier<String> describe) {
        inContext(
                () -> {
                    CUfunction function = function(kernel, sharedBytes, describe);
                    CudaDriver.check(
                            JCudaDriver.cuLaunchKernel(
                                    function,
                                    grid[0],
                                    grid[1],
                                    grid[2],
                                    block,
                                    1,
                                    1,
                                    sharedBytes,
                                    CudaDriver.stream(stream),
                                    params,
                                    null),
                            () ->
                                    "cuLaunchKernel("
                                            + kernel
                                            + ", grid "
                                            + grid[0]
                                            + "x"
                                            + grid[1]
                                            + "x"
                                            + grid[2]
                                            + ", block "
                                            + block
                                            + ", smem "
                                            + sharedBytes
                                            + ") for "
                                            + describe.get());
                    return null;
                });
    }

    private CUfunction function(String kernel, int sharedBytes, Supplier<String> describe) {
        CUfunction function =
                functions.computeIfAbsent(
                        kernel,
                        name -> {
                            CUfunction f = new CUfunction();
                            CudaDriver.check(
                                    JCudaDriver.cuModuleGetFunction(f, module, name),
                                    () -> "cuModuleGetFunction(" + name + ")");
                            return f;
                        });
        if (sharedBytes > 48 * 1024) {
            CudaDriver.check(
                    JCudaDriver.cuFuncSetAttribute(
                            function,
                            CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                            sharedBytes),
                    () ->
                            "cuFuncSetAttribute("
                                    + kernel
                                    + ", smem "
                                    + sharedBytes
                                    + ") for "
                                    + describe.get());
            // all of the L1/shared split to shared memory, so that the occupancy the kernel was
            // compiled for (e.g. four CTAs of 57 KB) is never cut by the driver's choice of split;
            // the kernels' loads bypass L1 (cp.async.cg)
            CudaDriver.check(
                    JCudaDriver.cuFuncSetAttribute(
                            function,
                            CUfunction_attribute.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
                            100),
                    () -> "cuFuncSetAttribute(" + kernel + ", shared memory carveout)");
        }
        return function;
    }
}

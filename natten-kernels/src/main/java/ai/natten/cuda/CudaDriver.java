package ai.natten.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUpointer_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * The process-wide CUDA driver state of the fused kernels: one probe of the driver, the GPUs and
 * the fatbin resource (never throwing), and one {@link DeviceModule} per device, loaded lazily.
 */
final class CudaDriver {

    static final String FATBIN_RESOURCE = "/ai/natten/cuda/natten.fatbin";
    private static final int MIN_MAJOR = 8;

    private static final Probe PROBE = Probe.run();
    private static final ConcurrentHashMap<Integer, DeviceModule> MODULES =
            new ConcurrentHashMap<>();

    private CudaDriver() {}

    /** Returns null when the fused kernels can run, else why not. */
    static String unavailableReason() {
        return PROBE.reason;
    }

    /** Returns the module of {@code device}, loading it on first use. */
    static DeviceModule module(int device) {
        if (PROBE.reason != null) {
            throw new IllegalStateException("fused CUDA kernels unavailable: " + PROBE.reason);
        }
        if (device < 0 || device >= PROBE.deviceCount) {
            throw new IllegalArgumentException(
                    "device must be in [0, " + PROBE.deviceCount + "), got " + device);
        }
        return MODULES.computeIfAbsent(device, d -> new DeviceModule(d, PROBE.fatbin));
    }

    /**
     * Returns the device ordinal that owns a device address (device 0 if the driver cannot say).
     */
    static int deviceOf(long address) {
        int[] ordinal = {0};
        int result =
                JCudaDriver.cuPointerGetAttribute(
                        jcuda.Pointer.to(ordinal),
                        CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                        pointer(address));
        if (result != CUresult.CUDA_SUCCESS) {
            throw new IllegalArgumentException(
                    "address 0x"
                            + Long.toHexString(address)
                            + " is not CUDA device memory ("
                            + CUresult.stringFor(result)
                            + ")");
        }
        return ordinal[0];
    }

    /** Returns a driver pointer object for a raw device address. */
    static CUdeviceptr pointer(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    /** Returns a driver stream object for a raw {@code CUstream} handle (0: the legacy stream). */
    static CUstream stream(long handle) {
        if (handle == 0) {
            return new CUstream();
        }
        try {
            Constructor<CUstream> c = CUstream.class.getDeclaredConstructor(long.class);
            c.setAccessible(true);
            return c.newInstance(handle);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot wrap a raw CUstream handle with JCuda", e);
        }
    }

    /** Throws a {@link CudaException} naming {@code what} unless {@code result} is success. */
    static void check(int result, Supplier<String> what) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaException(CUresult.stringFor(result) + " in " + what.get());
        }
    }

    /** The outcome of probing the driver once. */
    private static final class Probe {
        final String reason;
        final byte[] fatbin;
        final int deviceCount;

        private Probe(String reason, byte[] fatbin, int deviceCount) {
            this.reason = reason;
            this.fatbin = fatbin;
            this.deviceCount = deviceCount;
        }

        static Probe run() {
            byte[] fatbin;
            try (InputStream in = CudaDriver.class.getResourceAsStream(FATBIN_RESOURCE)) {
                if (in == null) {
                    return new Probe(
                            "no fatbin resource " + FATBIN_RESOURCE + " (built without nvcc)",
                            null,
                            0);
                }
                fatbin = in.readAllBytes();
            } catch (IOException e) {
                return new Probe("cannot read " + FATBIN_RESOURCE + ": " + e, null, 0);
            }
            try {
                JCudaDriver.setExceptionsEnabled(false);
                int result = JCudaDriver.cuInit(0);
                if (result != CUresult.CUDA_SUCCESS) {
                    return new Probe(
                            "no usable CUDA driver: cuInit returned " + CUresult.stringFor(result),
                            null,
                            0);
                }
                int[] count = {0};
                result = JCudaDriver.cuDeviceGetCount(count);
                if (result != CUresult.CUDA_SUCCESS || count[0] == 0) {
                    return new Probe("no CUDA device", null, 0);
                }
                CUdevice device = new CUdevice();
                JCudaDriver.cuDeviceGet(device, 0);
                int[] major = {0};
                JCudaDriver.cuDeviceGetAttribute(
                        major,
                        CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                        device);
                if (major[0] < MIN_MAJOR) {
                    return new Probe(
                            "device 0 has compute capability "
                                    + major[0]
                                    + ".x; the kernels need 8.0 or newer",
                            null,
                            0);
                }
                return new Probe(null, fatbin, count[0]);
            } catch (Throwable t) { // UnsatisfiedLinkError and friends: no driver library
                return new Probe("CUDA driver not loadable: " + t, null, 0);
            }
        }
    }
}

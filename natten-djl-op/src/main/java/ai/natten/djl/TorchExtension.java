package ai.natten.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import java.lang.reflect.Field;

/**
 * What the natten engine extension adds to DJL's PyTorch engine: bfloat16 arrays (DJL 0.35 itself
 * aborts the JVM when it creates one), the true data type and data address of an array, PyTorch's
 * current CUDA stream and its CUDA allocator's memory statistics.
 *
 * <p>The extension is a native library built for one libtorch release (README 'Fused backend'),
 * named by {@code -Dnatten.native.path} or {@code NATTEN_NATIVE_PATH}. It is loaded on first use
 * and only if it was built for the running engine's libtorch; {@link #isAvailable()} and {@link
 * #unavailableReason()} tell whether that worked, and every other method throws {@link
 * IllegalStateException} with that reason when it did not.
 */
public final class TorchExtension {

    private static final int CPU = 0;
    private static final int CUDA = 1;
    private static final Field DATA_TYPE_FIELD = dataTypeField();
    private static volatile Availability status;

    private TorchExtension() {}

    /** Returns whether the extension is loaded and usable. */
    public static boolean isAvailable() {
        return status().isAvailable();
    }

    /** Returns why the extension cannot be used, or null when it can. */
    public static String unavailableReason() {
        return status().reason();
    }

    /**
     * Returns the array cast to bfloat16, recorded in autograd (gradients flow back in the array's
     * own type). The result reports {@link DataType#BFLOAT16}; DJL operators that pass their data
     * type to the engine (softmax, for one) cannot take it, the natten ops can.
     *
     * @param array a PyTorch-engine array of any floating type, {@code [*]}
     * @return a new array of the same shape on the same device, attached to its manager
     */
    public static NDArray toBfloat16(NDArray array) {
        return cast(array, DataType.BFLOAT16);
    }

    /**
     * Returns the array cast to float32, recorded in autograd; takes bfloat16 arrays as well.
     *
     * @param array a PyTorch-engine array, {@code [*]}
     * @return a new float32 array of the same shape on the same device
     */
    public static NDArray toFloat32(NDArray array) {
        return cast(array, DataType.FLOAT32);
    }

    /**
     * Returns the array's data type as libtorch has it. Unlike {@link NDArray#getDataType()} this
     * says {@link DataType#BFLOAT16} also for arrays DJL derived from bfloat16 ones (DJL reports
     * those as UNKNOWN).
     */
    public static DataType dataType(NDArray array) {
        return DataType.values()[TorchNative.dataType(handle(array))];
    }

    /**
     * Returns a new uninitialized array of any data type, bfloat16 included.
     *
     * @param manager a PyTorch-engine manager, which will own the array
     * @param shape the shape
     * @param type the data type
     * @param device CPU or a GPU
     * @return the array
     */
    public static NDArray empty(NDManager manager, Shape shape, DataType type, Device device) {
        requireAvailable();
        if (!(manager instanceof PtNDManager)) {
            throw new IllegalArgumentException(
                    "manager must belong to DJL's PyTorch engine, got " + manager);
        }
        if (shape == null || type == null || device == null) {
            throw new IllegalArgumentException("shape, type and device must not be null");
        }
        long handle =
                TorchNative.empty(
                        shape.getShape(),
                        type.ordinal(),
                        deviceType(device),
                        device.isGpu() ? device.getDeviceId() : -1);
        return wrap((PtNDManager) manager, handle);
    }

    /**
     * Returns the array itself if contiguous in memory, else a contiguous copy (autograd-aware).
     */
    public static NDArray contiguous(NDArray array) {
        long handle = handle(array);
        long result = TorchNative.contiguous(handle);
        return wrap(((PtNDArray) array).getManager(), result);
    }

    /** Returns the device address of the array's first element (keep the array open meanwhile). */
    public static long dataPointer(NDArray array) {
        return TorchNative.dataPtr(handle(array));
    }

    /** Returns PyTorch's current CUDA stream on a GPU device, as a {@code cudaStream_t} address. */
    public static long currentStream(Device device) {
        return TorchNative.currentStream(cudaIndex(device));
    }

    /** Returns the statistics of PyTorch's CUDA caching allocator on a GPU device. */
    public static CudaMemory cudaMemory(Device device) {
        long[] values = TorchNative.cudaMemory(cudaIndex(device));
        return new CudaMemory(values[0], values[1], values[2]);
    }

    /** Resets the peak of {@link CudaMemory#peakAllocated()} on a GPU device. */
    public static void resetPeakMemory(Device device) {
        TorchNative.resetPeakMemory(cudaIndex(device));
    }

    /** Waits until all work on a GPU device has finished. */
    public static void synchronize(Device device) {
        TorchNative.synchronize(cudaIndex(device));
    }

    /** Returns the extension's state, loading it on first call. */
    static Availability status() {
        Availability result = status;
        if (result == null) {
            synchronized (TorchExtension.class) {
                if (status == null) {
                    status = load();
                }
                result = status;
            }
        }
        return result;
    }

    private static Availability load() {
        Engine engine;
        try {
            engine = Engine.getEngine("PyTorch");
        } catch (RuntimeException e) {
            return Availability.unavailable(
                    "DJL's PyTorch engine is not available: " + e.getMessage());
        }
        return ExtensionLoader.system()
                .load(
                        ExtensionLoader.configuredPath(),
                        engine.getEngineName(),
                        engine.getVersion());
    }

    /** Wraps a handle the extension returned in a PtNDArray that owns it. */
    static PtNDArray wrap(PtNDManager manager, long handle) {
        PtNDArray array = new PtNDArray(manager, handle);
        int type = TorchNative.dataType(handle);
        if (type == DataType.BFLOAT16.ordinal() && DATA_TYPE_FIELD != null) {
            try {
                // DJL maps bfloat16 to UNKNOWN; record the real type in the array's cache.
                DATA_TYPE_FIELD.set(array, DataType.BFLOAT16);
            } catch (IllegalAccessException e) {
                // the array reports UNKNOWN; dataType(array) still tells the truth
            }
        }
        return array;
    }

    private static Field dataTypeField() {
        try {
            Field field = PtNDArray.class.getDeclaredField("dataType");
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** Returns the array cast to the type, recorded in autograd (the array itself if of it). */
    static NDArray cast(NDArray array, DataType type) {
        long handle = handle(array);
        if (TorchNative.dataType(handle) == type.ordinal()) {
            return array;
        }
        PtNDArray pt = (PtNDArray) array;
        return wrap(pt.getManager(), TorchNative.toDataType(handle, type.ordinal()));
    }

    /** Returns the array's handle, checking that the extension is loaded and the array fits. */
    static long handle(NDArray array) {
        requireAvailable();
        if (array == null) {
            throw new IllegalArgumentException("array must not be null");
        }
        if (!(array instanceof PtNDArray)) {
            throw new IllegalArgumentException(
                    "array must come from DJL's PyTorch engine, got " + array.getClass().getName());
        }
        return ((PtNDArray) array).getHandle();
    }

    private static int cudaIndex(Device device) {
        requireAvailable();
        if (device == null || !device.isGpu()) {
            throw new IllegalArgumentException("device must be a GPU, got " + device);
        }
        return device.getDeviceId();
    }

    private static void requireAvailable() {
        Availability current = status();
        if (!current.isAvailable()) {
            throw new IllegalStateException(
                    "the natten engine extension is not available: " + current.reason());
        }
    }

    private static int deviceType(Device device) {
        return device.isGpu() ? CUDA : CPU;
    }
}

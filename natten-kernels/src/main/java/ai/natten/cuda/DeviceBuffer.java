package ai.natten.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

/**
 * A small owned device allocation for tests, benchmarks and users without a framework: allocate,
 * copy float data in and out converted to a {@link DType}, fill, free. Copies are synchronous (they
 * wait for the device); the {@link #address()} goes to {@link FusedNeighborhoodAttention}.
 */
public final class DeviceBuffer implements AutoCloseable {

    private final DeviceModule module;
    private final long bytes;
    private DevicePointer pointer;

    private DeviceBuffer(DeviceModule module, long bytes) {
        this.module = module;
        this.bytes = bytes;
        DevicePointer p = new DevicePointer();
        module.inContext(
                () -> {
                    CudaDriver.check(
                            JCudaDriver.cuMemAlloc(p, Math.max(bytes, 1)),
                            () -> "cuMemAlloc(" + bytes + " bytes)");
                    return null;
                });
        this.pointer = p;
    }

    /** Allocates {@code bytes} (uninitialized) on device {@code device}. */
    public static DeviceBuffer allocate(int device, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        return new DeviceBuffer(CudaDriver.module(device), bytes);
    }

    /** Allocates a buffer on {@code device} holding {@code values} converted to {@code dtype}. */
    public static DeviceBuffer of(int device, float[] values, DType dtype) {
        DeviceBuffer buffer = allocate(device, (long) values.length * dtype.bytes());
        buffer.copyFrom(values, dtype);
        return buffer;
    }

    /** Returns the device address. */
    public long address() {
        checkOpen();
        return pointer.address();
    }

    /** Returns the size in bytes. */
    public long bytes() {
        return bytes;
    }

    /** Returns the device ordinal. */
    public int device() {
        return module.device();
    }

    /** Copies {@code values}, converted to {@code dtype}, to the start of the buffer. */
    public void copyFrom(float[] values, DType dtype) {
        checkOpen();
        long n = (long) values.length * dtype.bytes();
        if (n > bytes) {
            throw new IllegalArgumentException(
                    values.length + " " + dtype + " values do not fit in " + bytes + " bytes");
        }
        ByteBuffer host = ByteBuffer.allocateDirect((int) n).order(ByteOrder.nativeOrder());
        for (float value : values) {
            switch (dtype) {
                case FLOAT16:
                    host.putShort(HalfFloats.floatToHalf(value));
                    break;
                case BFLOAT16:
                    host.putShort(HalfFloats.floatToBf16(value));
                    break;
                default:
                    host.putFloat(value);
            }
        }
        host.rewind();
        module.inContext(
                () -> {
                    CudaDriver.check(
                            JCudaDriver.cuMemcpyHtoD(pointer, Pointer.to(host), n),
                            () -> "cuMemcpyHtoD(" + n + " bytes)");
                    return null;
                });
    }

    /**
     * Returns the first {@code count} elements of type {@code dtype} as floats (waits for the
     * device).
     */
    public float[] toFloats(int count, DType dtype) {
        checkOpen();
        long n = (long) count * dtype.bytes();
        if (n > bytes) {
            throw new IllegalArgumentException(
                    count + " " + dtype + " values exceed the buffer's " + bytes + " bytes");
        }
        ByteBuffer host = ByteBuffer.allocateDirect((int) n).order(ByteOrder.nativeOrder());
        module.inContext(
                () -> {
                    CudaDriver.check(JCudaDriver.cuCtxSynchronize(), () -> "cuCtxSynchronize");
                    CudaDriver.check(
                            JCudaDriver.cuMemcpyDtoH(Pointer.to(host), pointer, n),
                            () -> "cuMemcpyDtoH(" + n + " bytes)");
                    return null;
                });
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            switch (dtype) {
                case FLOAT16:
                    values[i] = HalfFloats.halfToFloat(host.getShort());
                    break;
                case BFLOAT16:
                    values[i] = HalfFloats.bf16ToFloat(host.getShort());
                    break;
                default:
                    values[i] = host.getFloat();
            }
        }
        return values;
    }

    /** Sets every byte to {@code value} (0xFF poisons float32/16 and bfloat16 data with NaN). */
    public void fill(byte value) {
        checkOpen();
        module.inContext(
                () -> {
                    CudaDriver.check(
                            JCudaDriver.cuMemsetD8(pointer, value, bytes),
                            () -> "cuMemsetD8(" + bytes + " bytes)");
                    return null;
                });
    }

    /**
     * Queues a fill of the first {@code count} elements with normal samples on {@code stream}.
     *
     * @param count number of elements of {@code dtype}
     * @param dtype the element type
     * @param seed the sample stream
     * @param std the standard deviation
     * @param stream raw {@code CUstream} handle, 0 for the legacy default stream
     */
    public void fillNormal(long count, DType dtype, int seed, float std, long stream) {
        checkOpen();
        if (count * dtype.bytes() > bytes) {
            throw new IllegalArgumentException(
                    count + " " + dtype + " values exceed the buffer's " + bytes + " bytes");
        }
        Pointer args =
                Pointer.to(
                        Pointer.to(new long[] {address()}),
                        Pointer.to(new long[] {count}),
                        Pointer.to(new int[] {seed}),
                        Pointer.to(new float[] {std}));
        int blocks = (int) Math.min(4096, (count + 255) / 256 + 1);
        module.launch(
                "na_fill_normal_" + dtype.kernelSuffix(),
                new int[] {blocks, 1, 1},
                256,
                0,
                stream,
                args,
                () -> "fill " + count + " " + dtype);
    }

    /** Frees the allocation; further use throws. */
    @Override
    public void close() {
        if (pointer != null) {
            DevicePointer p = pointer;
            pointer = null;
            module.inContext(
                    () -> {
                        CudaDriver.check(JCudaDriver.cuMemFree(p), () -> "cuMemFree");
                        return null;
                    });
        }
    }

    private void checkOpen() {
        if (pointer == null) {
            throw new IllegalStateException("device buffer is closed");
        }
    }
}

package ai.natten.djl;

/**
 * The JNI entry points of the engine extension {@code libnatten_djl_torch.so}
 * (natten-djl-op/src/main/native). Handles are DJL's {@code PtNDArray.getHandle()}: pointers to
 * heap {@code torch::Tensor}s. A returned handle is a new tensor that the caller must wrap in a
 * {@code PtNDArray} at once, which then owns and frees it. Data types are DJL {@code DataType}
 * ordinals. Only {@link ExtensionLoader} loads the library, after checking its build record.
 */
final class TorchNative {

    private TorchNative() {}

    /** Returns the build record embedded in the library (see {@link BuildRecord}). */
    static native String buildRecord();

    /** Returns the DJL DataType ordinal of the tensor (BFLOAT16 included; UNKNOWN if none). */
    static native int dataType(long handle);

    /** Returns the address of the tensor's first element. */
    static native long dataPtr(long handle);

    /** Returns the tensor's sizes. */
    static native long[] sizes(long handle);

    /** Returns the tensor's strides, in elements. */
    static native long[] strides(long handle);

    /** Returns {@code {deviceType, deviceIndex}}: torch's DeviceType (0 CPU, 1 CUDA), index. */
    static native int[] device(long handle);

    /** Returns a new handle: the tensor cast to the DJL type, recorded in autograd. */
    static native long toDataType(long handle, int dataTypeOrdinal);

    /** Returns a new handle: the tensor, contiguous. */
    static native long contiguous(long handle);

    /** Returns a new handle: an uninitialized tensor. */
    static native long empty(long[] shape, int dataTypeOrdinal, int deviceType, int deviceIndex);

    /** Returns PyTorch's current CUDA stream ({@code cudaStream_t}) on the device. */
    static native long currentStream(int deviceIndex);

    /** Returns {allocated, peak allocated, reserved} bytes of PyTorch's CUDA allocator. */
    static native long[] cudaMemory(int deviceIndex);

    /** Resets the peak statistics of PyTorch's CUDA allocator on the device. */
    static native void resetPeakMemory(int deviceIndex);

    /** Waits for all work on the CUDA device. */
    static native void synchronize(int deviceIndex);

    /**
     * Runs neighborhood attention as a torch autograd function whose forward and backward call
     * {@code call} (see {@link FusedCall}); 0 stands for an absent rpb or additional key/value.
     *
     * @return the handle of the output {@code [B, *spatial, heads, D]}
     */
    static native long neighborhoodAttention(
            FusedCall call, long q, long k, long v, long rpb, long additionalK, long additionalV);
}

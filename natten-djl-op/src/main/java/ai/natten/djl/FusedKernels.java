package ai.natten.djl;

import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaProblem;

/**
 * The fused CUDA kernels as the DJL operator sees them: launches over raw device addresses on a
 * given CUDA stream (PyTorch's current one), on the current device's primary context.
 */
interface FusedKernels {

    /** Returns whether the kernels can run in this process (CUDA driver, GPU, kernel images). */
    Availability availability();

    /**
     * Returns why the kernels cannot compute this problem in this data type (with its backward when
     * {@code backward} is set), or null if they can.
     */
    String unsupported(NaProblem problem, DataType type, boolean backward);

    /** Computes out and the log-sum-exp from q, k, v (and rpb, additional k/v). */
    void forward(NaProblem problem, DataType type, long stream, FusedBuffers buffers);

    /** Returns the bytes of scratch memory {@link #backward} needs (allocated by PyTorch). */
    default long backwardWorkspaceBytes(NaProblem problem, DataType type) {
        return 0;
    }

    /** Computes the gradients from dOut, q, k, v, out and the log-sum-exp. */
    void backward(NaProblem problem, DataType type, long stream, FusedBuffers buffers);

    /** Returns the kernels of this build. */
    static FusedKernels installed() {
        return JcudaFusedKernels.INSTANCE;
    }
}

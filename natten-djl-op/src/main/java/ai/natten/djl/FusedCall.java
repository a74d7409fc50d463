package ai.natten.djl;

import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaProblem;

/**
 * One invocation of the fused op as the engine extension's autograd function sees it: the extension
 * calls {@link #forward} from the op's caller thread and {@link #backward} from PyTorch's autograd
 * thread (attached to the JVM), each with PyTorch's current CUDA stream and the addresses of
 * tensors it allocated. The autograd graph keeps this object until it is freed.
 */
final class FusedCall {

    private final FusedKernels kernels;
    private final NaProblem problem;
    private final DataType type;

    FusedCall(FusedKernels kernels, NaProblem problem, DataType type) {
        this.kernels = kernels;
        this.problem = problem;
        this.type = type;
    }

    /** Called by the extension (JNI signature {@code (J[J)V}). */
    void forward(long stream, long[] addresses) {
        kernels.forward(problem, type, stream, new FusedBuffers(addresses));
    }

    /** Called by the extension before backward (JNI signature {@code ()J}). */
    long workspaceBytes() {
        return kernels.backwardWorkspaceBytes(problem, type);
    }

    /** Called by the extension (JNI signature {@code (J[J)V}). */
    void backward(long stream, long[] addresses) {
        kernels.backward(problem, type, stream, new FusedBuffers(addresses));
    }
}

package ai.natten.djl;

import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaProblem;

/** Kernels of a build without fused kernels: unavailable, and launching fails with the reason. */
final class MissingKernels implements FusedKernels {

    static final String REASON = "this build has no fused CUDA kernels";

    @Override
    public Availability availability() {
        return Availability.unavailable(REASON);
    }

    @Override
    public String unsupported(NaProblem problem, DataType type, boolean backward) {
        return REASON;
    }

    @Override
    public void forward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
        throw new IllegalStateException(REASON);
    }

    @Override
    public void backward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
        throw new IllegalStateException(REASON);
    }
}

package ai.natten.djl;

import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaProblem;
import ai.natten.cuda.DType;
import ai.natten.cuda.FusedNeighborhoodAttention;

/** The fused kernels of natten-kernels ({@link FusedNeighborhoodAttention}, JCuda) for DJL. */
final class JcudaFusedKernels implements FusedKernels {

    static final JcudaFusedKernels INSTANCE = new JcudaFusedKernels();

    /** The kernels' head-dim rule (FusedNeighborhoodAttention rejects other head dims). */
    private static final int HEAD_DIM_MULTIPLE = 8;

    private static final int MAX_HEAD_DIM = 256;

    private JcudaFusedKernels() {}

    @Override
    public Availability availability() {
        String reason = FusedNeighborhoodAttention.unavailableReason();
        return reason == null ? Availability.available() : Availability.unavailable(reason);
    }

    @Override
    public String unsupported(NaProblem problem, DataType type, boolean backward) {
        int d = problem.headDim();
        if (d % HEAD_DIM_MULTIPLE != 0 || d > MAX_HEAD_DIM) {
            return "the fused kernels take head dims that are multiples of 8 up to 256, got " + d;
        }
        return backward ? BACKWARD_PENDING : null;
    }

    /** Set while natten-kernels has no fused backward: calls that need gradients stay composite. */
    private static final String BACKWARD_PENDING =
            "the fused backward kernels are not in this build yet";

    @Override
    public void forward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
        FusedNeighborhoodAttention.forward(
                problem,
                dtype(type),
                buffers.q(),
                buffers.k(),
                buffers.v(),
                buffers.out(),
                buffers.lse(),
                buffers.rpb(),
                buffers.additionalK(),
                buffers.additionalV(),
                stream);
    }

    @Override
    public void backward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
        throw new IllegalStateException(BACKWARD_PENDING);
    }

    private static DType dtype(DataType type) {
        switch (type) {
            case FLOAT32:
                return DType.FLOAT32;
            case FLOAT16:
                return DType.FLOAT16;
            case BFLOAT16:
                return DType.BFLOAT16;
            default:
                throw new IllegalArgumentException(
                        "the fused kernels take float32, float16 and bfloat16, got " + type);
        }
    }
}

package ai.natten.djl;

import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaProblem;
import ai.natten.cuda.BackwardTensors;
import ai.natten.cuda.DType;
import ai.natten.cuda.FusedNeighborhoodAttention;

/** The fused kernels of natten-kernels ({@link FusedNeighborhoodAttention}, JCuda) for DJL. */
final class JcudaFusedKernels implements FusedKernels {

    static final JcudaFusedKernels INSTANCE = new JcudaFusedKernels();

    /**
     * The kernels' default, their faster mode: dk and dv never use atomics; dq (at head dim 32) and
     * the bias gradient may be summed by float32 atomics, so their last bits vary between runs.
     */
    private static final boolean DETERMINISTIC = false;

    private JcudaFusedKernels() {}

    @Override
    public Availability availability() {
        String reason = FusedNeighborhoodAttention.unavailableReason();
        return reason == null ? Availability.available() : Availability.unavailable(reason);
    }

    @Override
    public String unsupported(NaProblem problem, DataType type, boolean backward) {
        return FusedNeighborhoodAttention.unsupportedReason(problem);
    }

    @Override
    public long backwardWorkspaceBytes(NaProblem problem, DataType type) {
        return FusedNeighborhoodAttention.backwardWorkspaceBytes(
                problem, dtype(type), DETERMINISTIC);
    }

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
        BackwardTensors.Builder tensors =
                BackwardTensors.builder()
                        .setInputs(buffers.q(), buffers.k(), buffers.v())
                        .setForward(buffers.out(), buffers.lse())
                        .setOutputGradient(buffers.dOut())
                        .setGradients(buffers.dq(), buffers.dk(), buffers.dv())
                        .optWorkspace(buffers.workspace());
        if (problem.hasRpb()) {
            tensors.optRpb(buffers.rpb(), buffers.dRpb());
        }
        if (problem.additionalTokens() > 0) {
            tensors.optAdditional(
                    buffers.additionalK(),
                    buffers.additionalV(),
                    buffers.dAdditionalK(),
                    buffers.dAdditionalV());
        }
        FusedNeighborhoodAttention.backward(
                problem, dtype(type), tensors.build(), DETERMINISTIC, stream);
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

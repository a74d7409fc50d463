package ai.natten.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.natten.core.NaProblem;

/**
 * Neighborhood attention through the fused CUDA kernels, inside PyTorch's autograd: the engine
 * extension records one autograd node whose forward and backward launch the kernels on PyTorch's
 * current stream, saving only q, k, v (rpb, additional k/v), the output and the log-sum-exp. Memory
 * grows with {@code B * N * heads * D}, not with the neighbourhood size.
 */
final class FusedAttention {

    private FusedAttention() {}

    /**
     * Computes neighborhood attention with the fused kernels.
     *
     * @param problem the validated problem
     * @param type the inputs' data type (float32, float16 or bfloat16)
     * @param q query {@code [B, *spatial, heads, D]} on a GPU
     * @param k key {@code [B, *spatial, kvHeads, D]}
     * @param v value {@code [B, *spatial, kvHeads, D]}
     * @param extras bias and additional tokens
     * @param kernels the kernels to launch
     * @return the output {@code [B, *spatial, heads, D]}, attached to q's manager
     */
    static NDArray forward(
            NaProblem problem,
            DataType type,
            NDArray q,
            NDArray k,
            NDArray v,
            NaExtras extras,
            FusedKernels kernels) {
        PtNDArray query = (PtNDArray) q;
        long out =
                TorchNative.neighborhoodAttention(
                        new FusedCall(kernels, problem, type),
                        query.getHandle(),
                        handle(k),
                        handle(v),
                        handle(extras.rpb()),
                        handle(extras.additionalK()),
                        handle(extras.additionalV()));
        return TorchExtension.wrap(query.getManager(), out);
    }

    private static long handle(NDArray array) {
        return array == null ? 0 : ((PtNDArray) array).getHandle();
    }
}

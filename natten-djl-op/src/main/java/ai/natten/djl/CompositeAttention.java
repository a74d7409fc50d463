package ai.natten.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.pytorch.engine.PtNDArray;
import ai.natten.core.NaProblem;

/**
 * Neighborhood attention from stock DJL operators: gather each query's K neighbours with a
 * precomputed index, batched matmul, softmax, batched matmul. Runs wherever DJL runs and DJL's
 * autograd differentiates it. Memory grows with {@code B * N * K * kvHeads * D}.
 *
 * <p>float16 and bfloat16 inputs are computed in float32 and the output cast back, where the casts
 * keep the gradient: DJL's own {@code toType} is not recorded by autograd, the engine extension's
 * casts are. So with the extension, or when no input needs a gradient, half types run in float32;
 * float16 inputs that need gradients without the extension run in float16 (PyTorch accumulates
 * matmuls in float32). bfloat16 arrays only exist through the extension. float32 and float64 run in
 * their own type.
 */
final class CompositeAttention {

    private CompositeAttention() {}

    /**
     * Computes neighborhood attention.
     *
     * @param problem the validated problem
     * @param inputType the inputs' data type
     * @param q query {@code [B, *spatial, heads, D]}
     * @param k key {@code [B, *spatial, kvHeads, D]}
     * @param v value {@code [B, *spatial, kvHeads, D]}
     * @param extras bias and additional tokens
     * @return the output {@code [B, *spatial, heads, D]}
     */
    static NDArray forward(
            NaProblem problem,
            DataType inputType,
            NDArray q,
            NDArray k,
            NDArray v,
            NaExtras extras) {
        boolean halfPrecision = inputType == DataType.FLOAT16 || inputType == DataType.BFLOAT16;
        boolean recordedCasts = halfPrecision && TorchExtension.isAvailable();
        DataType work =
                halfPrecision
                                && (recordedCasts
                                        || !NeighborhoodAttention.needsGradient(q, k, v, extras))
                        ? DataType.FLOAT32
                        : inputType;
        NeighbourIndex index = NeighbourIndex.of(problem);
        NDManager manager = q.getManager();
        int b = problem.batch();
        int n = problem.tokens();
        int kvHeads = problem.kvHeads();
        int group = problem.heads() / kvHeads;
        int d = problem.headDim();
        int neighbours = index.neighbours();

        NDArray keyIndex = onDevice(manager.create(index.keys(), new Shape(n, neighbours)), q);
        NDArray qh =
                Scalars.multiply(cast(q, work).reshape(b, n, kvHeads, group, d), problem.scale());
        NDArray kf = cast(k, work).reshape(b, n, kvHeads, d);
        NDArray vf = cast(v, work).reshape(b, n, kvHeads, d);
        // [B, N, K, kvHeads, D] -> keys [B, N, kvHeads, D, K], values [B, N, kvHeads, K, D]
        NDArray keys = kf.get(new NDIndex(":, {}", keyIndex)).transpose(0, 1, 3, 4, 2);
        NDArray values = vf.get(new NDIndex(":, {}", keyIndex)).transpose(0, 1, 3, 2, 4);
        NDArray logits = qh.matMul(keys); // [B, N, kvHeads, group, K]

        if (extras.rpb() != null) {
            NDArray offsets =
                    onDevice(manager.create(index.rpbOffsets(), new Shape(n, neighbours)), q);
            NDArray bias =
                    cast(extras.rpb(), work)
                            .reshape(problem.heads(), problem.rpbSizePerHead())
                            .get(new NDIndex(":, {}", offsets)) // [heads, N, K]
                            .reshape(kvHeads, group, n, neighbours)
                            .transpose(2, 0, 1, 3);
            logits = logits.add(bias);
        }
        if (index.padding() != null) {
            NDArray padding =
                    onDevice(manager.create(index.padding(), new Shape(n, 1, 1, neighbours)), q);
            logits = logits.add(padding.toType(work, false));
        }

        NDArray extraValues = null;
        if (extras.additionalK() != null) {
            // [B, T, kvHeads, D] -> keys [B, 1, kvHeads, D, T], values [B, 1, kvHeads, T, D]
            NDArray extraKeys =
                    cast(extras.additionalK(), work).transpose(0, 2, 3, 1).expandDims(1);
            extraValues = cast(extras.additionalV(), work).transpose(0, 2, 1, 3).expandDims(1);
            logits = logits.concat(qh.matMul(extraKeys), 4);
        }
        NDArray weights = logits.softmax(4);
        if (extras.attentionDropout() > 0) {
            weights = Dropout.dropout(weights, extras.attentionDropout(), true).singletonOrThrow();
        }
        NDArray out;
        if (extraValues == null) {
            out = weights.matMul(values);
        } else {
            NDList parts = weights.split(new long[] {neighbours}, 4);
            out = parts.get(0).matMul(values).add(parts.get(1).matMul(extraValues));
        }
        return cast(out.reshape(q.getShape()), inputType);
    }

    /** Casts recorded by autograd where the engine extension is loaded, else DJL's toType. */
    private static NDArray cast(NDArray array, DataType type) {
        if (array.getDataType() == type) {
            return array;
        }
        if (array instanceof PtNDArray && TorchExtension.isAvailable()) {
            return TorchExtension.cast(array, type);
        }
        return array.toType(type, false);
    }

    private static NDArray onDevice(NDArray array, NDArray like) {
        return array.toDevice(like.getDevice(), false);
    }
}

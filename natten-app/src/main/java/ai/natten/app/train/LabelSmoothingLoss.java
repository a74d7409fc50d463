package ai.natten.app.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.loss.Loss;

/**
 * Softmax cross-entropy against smoothed targets: the true class gets {@code 1 - epsilon + epsilon
 * / K}, every other class {@code epsilon / K}. Labels are class indices {@code [B]}, predictions
 * logits {@code [B, K]}; the result is the batch mean. Epsilon 0 is plain cross-entropy.
 */
public final class LabelSmoothingLoss extends Loss {

    private final float epsilon;

    /**
     * Creates the loss.
     *
     * @param epsilon the smoothing, in [0, 1)
     */
    public LabelSmoothingLoss(float epsilon) {
        super("LabelSmoothingLoss");
        if (!(epsilon >= 0 && epsilon < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + epsilon);
        }
        this.epsilon = epsilon;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        NDArray logits = predictions.singletonOrThrow();
        if (logits.getDataType() != DataType.FLOAT32) {
            // DJL's toType is not recorded by autograd; type promotion by a float32 one is
            logits =
                    logits.mul(
                            logits.getManager()
                                    .ones(new Shape(1), DataType.FLOAT32, logits.getDevice()));
        }
        long classes = logits.getShape().get(1);
        NDArray logProbabilities = logits.logSoftmax(1);
        NDArray target =
                labels.singletonOrThrow()
                        .oneHot((int) classes, DataType.FLOAT32)
                        .mul(1 - epsilon)
                        .add(epsilon / classes);
        return target.mul(logProbabilities).sum(new int[] {1}).mean().neg();
    }
}

package ai.natten.zoo.nat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * Stochastic depth: in training, zeroes a residual branch for a whole sample with probability
 * {@code rate} and scales the kept samples by {@code 1 / (1 - rate)}; the identity otherwise.
 */
final class DropPath {

    private DropPath() {}

    /**
     * Applies stochastic depth to a residual branch.
     *
     * @param branch the branch output {@code [B, ...]}
     * @param rate the drop probability in {@code [0, 1)}
     * @param training whether the model is training
     * @return the branch, per sample either dropped or rescaled
     */
    static NDArray apply(NDArray branch, float rate, boolean training) {
        if (!training || rate == 0f) {
            return branch;
        }
        long[] maskShape = new long[branch.getShape().dimension()];
        Arrays.fill(maskShape, 1);
        maskShape[0] = branch.getShape().get(0);
        float keep = 1f - rate;
        NDArray kept =
                branch.getManager()
                        .randomUniform(
                                0f,
                                1f,
                                new Shape(maskShape),
                                branch.getDataType(),
                                branch.getDevice())
                        .add(keep)
                        .floor();
        return branch.mul(kept.div(keep));
    }
}

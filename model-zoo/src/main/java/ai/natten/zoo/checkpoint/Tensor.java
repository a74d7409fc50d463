package ai.natten.zoo.checkpoint;

import java.util.Arrays;

/**
 * One named tensor of a checkpoint, widened to float32, in row-major (C) order.
 *
 * @param shape the dimensions
 * @param data the values, {@code prod(shape)} of them
 */
public record Tensor(long[] shape, float[] data) {

    /** Checks that the data length matches the shape. */
    public Tensor {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "shape "
                            + Arrays.toString(shape)
                            + " needs "
                            + n
                            + " values, got "
                            + data.length);
        }
    }

    /** Returns the shape as text, such as {@code [3, 7, 7]}. */
    public String shapeText() {
        return Arrays.toString(shape);
    }
}

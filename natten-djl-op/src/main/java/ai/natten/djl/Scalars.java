package ai.natten.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Multiplication by a constant that autograd differentiates correctly on every device.
 *
 * <p>DJL 0.35.1's {@code NDArray.mul(Number)} wraps the constant, on a CPU, around a Java direct
 * buffer without copying it ({@code torch::from_blob}) and closes it as soon as the product is
 * made, while autograd keeps that tensor for the backward pass. Once the buffer is reclaimed, the
 * gradient is multiplied by whatever its memory then holds (measured: after a garbage collection,
 * 20 of 20 backward passes of {@code x.mul(3f)} gave gradients between 1e30 and 1e35). Here the
 * constant is a tensor libtorch allocates and owns, kept alive by autograd as long as it needs it.
 * On a GPU DJL copies the constant, so both are correct there.
 */
public final class Scalars {

    private Scalars() {}

    /**
     * Returns {@code array * factor}, recorded by autograd with the right derivative.
     *
     * @param array a floating-point array of any shape and type (bfloat16 included)
     * @param factor the constant
     * @return a new array of the array's shape, type and device
     */
    public static NDArray multiply(NDArray array, float factor) {
        // a 0-dimensional float32 operand does not promote float16, bfloat16 or float64 arrays
        try (NDArray constant =
                array.getManager().full(new Shape(), factor, DataType.FLOAT32, array.getDevice())) {
            return array.mul(constant);
        }
    }
}

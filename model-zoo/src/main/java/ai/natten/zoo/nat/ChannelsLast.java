package ai.natten.zoo.nat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;

/** Helpers for the channels-last {@code [B, H, W, C]} feature maps of NAT. */
final class ChannelsLast {

    private ChannelsLast() {}

    /** A LayerNorm over the channel axis of {@code [B, H, W, C]}. */
    static LayerNorm layerNorm(float eps) {
        return LayerNorm.builder().axis(3).optEpsilon(eps).build();
    }

    /** {@code [B, C, H, W] -> [B, H, W, C]}. */
    static NDArray fromChannelsFirst(NDArray x) {
        return x.transpose(0, 2, 3, 1);
    }

    /** {@code [B, H, W, C] -> [B, C, H, W]}. */
    static NDArray toChannelsFirst(NDArray x) {
        return x.transpose(0, 3, 1, 2);
    }

    /** The shape {@code [B, C, H, W]} as {@code [B, H, W, C]}. */
    static Shape fromChannelsFirst(Shape s) {
        return new Shape(s.get(0), s.get(2), s.get(3), s.get(1));
    }

    /** The shape {@code [B, H, W, C]} as {@code [B, C, H, W]}. */
    static Shape toChannelsFirst(Shape s) {
        return new Shape(s.get(0), s.get(3), s.get(1), s.get(2));
    }

    /** The output length of a convolution: {@code (n + 2 * padding - kernel) / stride + 1}. */
    static long convOut(long n, int kernel, int stride, int padding) {
        return (n + 2L * padding - kernel) / stride + 1;
    }
}

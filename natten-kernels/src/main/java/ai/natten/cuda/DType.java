package ai.natten.cuda;

/** Element types of the fused kernels' tensors (log-sum-exp and workspaces are always float32). */
public enum DType {
    /** IEEE float32; tensor-core kernels as 3xTF32 (float32 accuracy), float32 accumulation. */
    FLOAT32(4, "f32"),
    /** IEEE float16; tensor-core kernels with float32 accumulation. */
    FLOAT16(2, "f16"),
    /** bfloat16; tensor-core kernels with float32 accumulation. */
    BFLOAT16(2, "bf16");

    private final int bytes;
    private final String kernelSuffix;

    DType(int bytes, String kernelSuffix) {
        this.bytes = bytes;
        this.kernelSuffix = kernelSuffix;
    }

    /** Returns the size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** Returns the dtype part of kernel names ({@code f32}, {@code f16}, {@code bf16}). */
    String kernelSuffix() {
        return kernelSuffix;
    }

    /** Returns the float nearest to {@code value} in this type (round to nearest even). */
    public float round(float value) {
        switch (this) {
            case FLOAT16:
                return HalfFloats.halfToFloat(HalfFloats.floatToHalf(value));
            case BFLOAT16:
                return HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(value));
            default:
                return value;
        }
    }
}

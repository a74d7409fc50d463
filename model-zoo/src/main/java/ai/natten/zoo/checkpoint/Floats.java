package ai.natten.zoo.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Widening of stored element types to float32. */
final class Floats {

    private Floats() {}

    /** The storage element types a checkpoint may hold. */
    enum Type {
        F32(4),
        F16(2),
        BF16(2),
        F64(8);

        final int bytes;

        Type(int bytes) {
            this.bytes = bytes;
        }
    }

    /**
     * Reads element {@code index} of a little-endian buffer of {@code type} as a float.
     *
     * @param buffer the storage bytes
     * @param type the element type
     * @param index the element index
     * @return the value, exactly widened (float64 rounded to nearest)
     */
    static float read(ByteBuffer buffer, Type type, long index) {
        int at = Math.toIntExact(index * type.bytes);
        switch (type) {
            case F32:
                return buffer.getFloat(at);
            case F16:
                return halfToFloat(buffer.getShort(at));
            case BF16:
                return Float.intBitsToFloat((buffer.getShort(at) & 0xffff) << 16);
            case F64:
            default:
                return (float) buffer.getDouble(at);
        }
    }

    static ByteBuffer littleEndian(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included). */
    static float halfToFloat(short bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float value = mantissa * 0x1p-24f;
            return sign == 0 ? value : -value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}

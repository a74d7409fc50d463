package ai.natten.cuda;

import ai.natten.core.AxisWindow;
import ai.natten.core.NaProblem;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;

/**
 * The bytes of the kernels' {@code NaParams} struct ({@code na_common.cuh}): 16 device pointers,
 * then the problem's sizes and windows with the rank padded to 3 (leading axes of length 1 and
 * kernel 1), the tile shapes and the scale. Keep the two in step.
 */
final class KernelParams {

    /** The pointer fields, in struct order. */
    enum Slot {
        Q,
        K,
        V,
        OUT,
        LSE,
        RPB,
        ADDITIONAL_K,
        ADDITIONAL_V,
        D_OUT,
        D_Q,
        D_K,
        D_V,
        D_RPB,
        D_ADDITIONAL_K,
        D_ADDITIONAL_V,
        DELTA
    }

    static final int SIZE = 256;
    private static final int INTS = 16 * 8;
    private static final int AXES = 3;
    private static final int AXIS_FIELDS = INTS + 20;
    private static final int SCALE = AXIS_FIELDS + 8 * AXES * 4;

    private final ByteBuffer bytes = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);

    KernelParams(NaProblem p) {
        bytes.putInt(INTS, p.batch());
        bytes.putInt(INTS + 4, p.heads());
        bytes.putInt(INTS + 8, p.kvHeads());
        bytes.putInt(INTS + 12, p.headDim());
        bytes.putInt(INTS + 16, p.additionalTokens());
        int pad = AXES - p.rank();
        for (int slot = 0; slot < AXES; slot++) {
            AxisWindow w = slot < pad ? null : p.window(slot - pad);
            putAxis(0, slot, w == null ? 1 : w.length());
            putAxis(1, slot, w == null ? 1 : w.kernel());
            putAxis(2, slot, w == null ? 1 : w.dilation());
            putAxis(3, slot, w == null ? 1 : w.stride());
            putAxis(4, slot, w != null && w.causal() ? 1 : 0);
        }
        bytes.putFloat(SCALE, p.scale());
        bytes.putFloat(SCALE + 4, (float) (p.scale() / Math.log(2)));
    }

    /** Sets a pointer field (0 for none). */
    KernelParams set(Slot slot, long address) {
        bytes.putLong(slot.ordinal() * 8, address);
        return this;
    }

    /** Sets the query tile, key/value tile and query-tile-count fields (padded rank 3). */
    KernelParams tiles(int[] queryTile, int[] kvTile, int[] tileCounts) {
        for (int slot = 0; slot < AXES; slot++) {
            putAxis(5, slot, queryTile[slot]);
            putAxis(6, slot, kvTile[slot]);
            putAxis(7, slot, tileCounts[slot]);
        }
        return this;
    }

    /** Returns the kernel argument array: one argument, the struct by value. */
    Pointer arguments() {
        return Pointer.to(Pointer.to(bytes.array()));
    }

    /** Writes field array {@code field} (0 = L, 1 = ks, ..., 7 = tiles) at axis slot. */
    private void putAxis(int field, int slot, int value) {
        bytes.putInt(AXIS_FIELDS + (field * AXES + slot) * 4, value);
    }
}

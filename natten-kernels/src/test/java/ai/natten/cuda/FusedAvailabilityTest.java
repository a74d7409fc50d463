package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import org.junit.jupiter.api.Test;

/** Runs everywhere (CI has no GPU): availability never throws, conversions and tile plans. */
class FusedAvailabilityTest {

    @Test
    void availabilityIsConsistentAndNeverThrows() {
        boolean available = FusedNeighborhoodAttention.isAvailable();
        String reason = FusedNeighborhoodAttention.unavailableReason();
        assertEquals(available, reason == null, "reason: " + reason);
    }

    @Test
    void halfConversionsRoundToNearestEven() {
        assertEquals(1.0f, HalfFloats.halfToFloat(HalfFloats.floatToHalf(1.0f)));
        assertEquals((short) 0x3c00, HalfFloats.floatToHalf(1.0f));
        assertEquals((short) 0x7bff, HalfFloats.floatToHalf(65504f));
        assertEquals((short) 0x7c00, HalfFloats.floatToHalf(65520f)); // rounds up to inf
        assertEquals((short) 0x0001, HalfFloats.floatToHalf(0x1p-24f)); // smallest subnormal
        assertEquals((short) 0x0000, HalfFloats.floatToHalf(0x1p-25f)); // tie to even: 0
        assertEquals((short) 0x3c00, HalfFloats.floatToHalf(1 + 0x1p-11f)); // tie to even: down
        assertEquals((short) 0x3c02, HalfFloats.floatToHalf(1 + 3 * 0x1p-11f)); // tie to even: up
        assertEquals(-2.5f, HalfFloats.halfToFloat(HalfFloats.floatToHalf(-2.5f)));
        assertEquals((short) 0x3f80, HalfFloats.floatToBf16(1.0f));
        assertEquals((short) 0x3f80, HalfFloats.floatToBf16(1 + 0x1p-8f)); // tie to even: down
        assertEquals((short) 0x3f82, HalfFloats.floatToBf16(1 + 3 * 0x1p-8f)); // tie to even: up
        assertEquals(Float.NaN, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN)));
        assertEquals(Float.NaN, HalfFloats.halfToFloat(HalfFloats.floatToHalf(Float.NaN)));
        for (int i = 0; i < 1000; i++) {
            float x = (float) (Math.random() * 100 - 50);
            float h = DType.FLOAT16.round(x);
            assertEquals(x, h, Math.abs(x) * 0x1p-11f);
            float b = DType.BFLOAT16.round(x);
            assertEquals(x, b, Math.abs(x) * 0x1p-8f);
        }
    }

    @Test
    void tilePlansFollowTheRank() {
        NaProblem oneD =
                NaProblem.builder()
                        .setOptions(NaOptions.builder().setKernelSize(255).build())
                        .setBatch(1)
                        .setSpatialSize(4096)
                        .setHeads(1)
                        .setHeadDim(64)
                        .build();
        TilePlan plan = TilePlan.choose(oneD, 64, 64);
        assertArrayEquals(new int[] {1, 1, 64}, plan.queryTile());
        assertArrayEquals(new int[] {1, 1, 64}, plan.kvTile());
        assertEquals(64, plan.gridX());
        NaProblem dilated =
                NaProblem.builder()
                        .setOptions(NaOptions.builder().setKernelSize(7).optDilation(8).build())
                        .setBatch(1)
                        .setSpatialSize(56, 56)
                        .setHeads(1)
                        .setHeadDim(32)
                        .build();
        TilePlan dil = TilePlan.choose(dilated, 64, 64);
        // each 7x7 dilation group fits one 8x8 query tile and one 8x8 key tile
        assertArrayEquals(new int[] {1, 8, 8}, dil.queryTile());
        assertArrayEquals(new int[] {1, 8, 8}, dil.kvTile());
        assertEquals(64, dil.gridX());
    }

    @Test
    void headDimsOutsideTheKernelsAreNamed() {
        for (int d : new int[] {8, 32, 40, 128, 256}) {
            assertNull(FusedNeighborhoodAttention.unsupportedReason(withHeadDim(d)), "d=" + d);
        }
        for (int d : new int[] {12, 36, 264}) {
            assertEquals(
                    "head_dim must be a multiple of 8 up to 256 for the fused kernels, got " + d,
                    FusedNeighborhoodAttention.unsupportedReason(withHeadDim(d)));
        }
    }

    private static NaProblem withHeadDim(int d) {
        return NaProblem.builder()
                .setOptions(NaOptions.builder().setKernelSize(3).build())
                .setBatch(1)
                .setSpatialSize(8, 8)
                .setHeads(2)
                .setHeadDim(d)
                .build();
    }
}

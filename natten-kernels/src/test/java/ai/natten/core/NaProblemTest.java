package ai.natten.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NaProblemTest {

    private static final NaOptions K3 = NaOptions.builder().setKernelSize(3).build();

    @Test
    void shapesAreReadFromTheTensors() {
        NaProblem p =
                NaProblem.fromShapes(
                        NaOptions.builder().setKernelSize(3, 5).optDilation(2, 1).build(),
                        new long[] {2, 10, 12, 4, 16},
                        new long[] {2, 10, 12, 2, 16},
                        new long[] {2, 10, 12, 2, 16},
                        new long[] {4, 5, 9},
                        new long[] {2, 3, 2, 16},
                        new long[] {2, 3, 2, 16});
        assertEquals(2, p.rank());
        assertEquals(120, p.tokens());
        assertEquals(4, p.heads());
        assertEquals(2, p.kvHeads());
        assertEquals(1, p.kvHead(3));
        assertEquals(3, p.additionalTokens());
        assertEquals(2, p.window(0).dilation());
        assertEquals(0.25f, p.scale());
        assertEquals(15, p.maxNeighbours());
        assertArrayEquals(new long[] {2, 10, 12, 4}, p.lseShape());
    }

    @Test
    void neighbourTokensAreTheProductOfTheAxes() {
        NaProblem p = problem(NaOptions.builder().setKernelSize(2, 3).build(), 4, 5);
        // query (0, 0): axis 0 -> {0, 1}; axis 1 -> {0, 1, 2}
        assertArrayEquals(new int[] {0, 1, 2, 5, 6, 7}, p.neighbourTokens(0));
        // bias offsets: (dj0 + 1) * 5 + (dj1 + 2) with dj = j - i
        assertEquals(1 * 5 + 2, p.rpbOffset(0, 0));
        assertEquals(2 * 5 + 4, p.rpbOffset(0, 7));
    }

    @Test
    void everyViolatedConstraintIsNamed() {
        assertMessage(
                "kernel_size * dilation must be <= the spatial size on axis 1, got 4 * 3 > 10",
                () ->
                        problem(
                                NaOptions.builder().setKernelSize(4).optDilation(1, 3).build(),
                                20,
                                10));
        assertMessage(
                "kernel_size must have 1 value or one per spatial axis (2), got 3",
                () -> problem(NaOptions.builder().setKernelSize(3, 3, 3).build(), 8, 8));
        assertMessage(
                "stride on axis 0 must be in [1, kernel_size = 3], got 4",
                () -> problem(NaOptions.builder().setKernelSize(3).optStride(4).build(), 8));
        assertMessage(
                "rpb (relative positional bias) cannot be used with causal",
                () ->
                        NaProblem.builder()
                                .setOptions(
                                        NaOptions.builder()
                                                .setKernelSize(3)
                                                .optCausal(false, true)
                                                .build())
                                .setBatch(1)
                                .setSpatialSize(8, 8)
                                .setHeads(1)
                                .setHeadDim(4)
                                .optRpb(true)
                                .build());
        assertMessage(
                "heads must be a multiple of kv_heads, got heads = 3, kv_heads = 2",
                () -> shapes(new long[] {1, 8, 3, 4}, new long[] {1, 8, 2, 4}));
        assertMessage(
                "k must match q in batch and spatial sizes",
                () -> shapes(new long[] {1, 8, 2, 4}, new long[] {1, 9, 2, 4}));
        assertMessage(
                "k must have the rank of q",
                () -> shapes(new long[] {1, 8, 2, 4}, new long[] {1, 8, 8, 2, 4}));
        assertMessage(
                "q must be [B, *spatial, heads, D] with 1 to 3 spatial axes",
                () -> shapes(new long[] {1, 2, 2, 2, 2, 2, 4}, new long[] {1, 2, 2, 2, 2, 2, 4}));
        assertMessage(
                "rpb must be [2, 5] ([heads, 2k-1 per axis]), got [2, 7]",
                () ->
                        NaProblem.fromShapes(
                                K3,
                                new long[] {1, 8, 2, 4},
                                new long[] {1, 8, 2, 4},
                                new long[] {1, 8, 2, 4},
                                new long[] {2, 7},
                                null,
                                null));
        assertMessage(
                "additional_k must be [B, T, kv_heads, D]",
                () ->
                        NaProblem.fromShapes(
                                K3,
                                new long[] {1, 8, 2, 4},
                                new long[] {1, 8, 2, 4},
                                new long[] {1, 8, 2, 4},
                                null,
                                new long[] {1, 3, 2, 5},
                                new long[] {1, 3, 2, 5}));
        assertMessage("kernel_size is required", () -> NaOptions.builder().build());
        assertMessage("scale must be finite", () -> NaOptions.builder().optScale(Float.NaN));
    }

    private static NaProblem problem(NaOptions options, int... spatial) {
        return NaProblem.builder()
                .setOptions(options)
                .setBatch(1)
                .setSpatialSize(spatial)
                .setHeads(2)
                .setHeadDim(8)
                .build();
    }

    private static NaProblem shapes(long[] q, long[] kv) {
        return NaProblem.fromShapes(K3, q, kv, kv, null, null, null);
    }

    private static void assertMessage(String expected, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}

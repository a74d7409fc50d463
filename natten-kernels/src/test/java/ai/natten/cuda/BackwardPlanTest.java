package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Runs everywhere: which backward kernels a problem takes, their workspace and shared memory. */
class BackwardPlanTest {

    /** The largest dynamic shared memory a block may opt into on an H100/H200 (227 KB). */
    private static final int HOPPER_SHARED_LIMIT = 232448;

    private static NaProblem problem(int headDim, boolean rpb, int additional, int... kernel) {
        int[] spatial = new int[kernel.length];
        for (int a = 0; a < kernel.length; a++) {
            spatial[a] = kernel[a] + 3;
        }
        return NaProblem.builder()
                .setOptions(NaOptions.builder().setKernelSize(kernel).build())
                .setBatch(2)
                .setSpatialSize(spatial)
                .setHeads(3)
                .setHeadDim(headDim)
                .optRpb(rpb)
                .optAdditionalTokens(additional)
                .build();
    }

    @Test
    void rpbTakesTheTensorCoresWithTheSeparateDqKernel() {
        for (int d : new int[] {32, 64, 128}) {
            NaProblem p = problem(d, true, 0, 7, 7);
            assertTrue(BackwardLaunch.tensorCoreCandidate(p), "d" + d);
            assertFalse(BackwardLaunch.fusesDq(p, false), "d" + d);
            assertFalse(BackwardLaunch.fusesDq(p, true), "d" + d);
        }
        assertTrue(BackwardLaunch.fusesDq(problem(32, false, 0, 7, 7), false));
        assertFalse(BackwardLaunch.tensorCoreCandidate(problem(64, true, 4, 7, 7)));
        assertFalse(BackwardLaunch.tensorCoreCandidate(problem(48, true, 0, 7, 7)));
    }

    @Test
    void defaultModeFusesDqWhereMeasuredFaster() {
        // by head dim alone, in every dtype
        assertTrue(BackwardLaunch.fusesDq(problem(32, false, 0, 7, 7, 7), false));
        assertTrue(BackwardLaunch.fusesDq(problem(32, false, 0, 33), false));
        assertTrue(BackwardLaunch.fusesDq(problem(32, false, 0, 7, 7), false));
        assertFalse(BackwardLaunch.fusesDq(problem(32, false, 0, 7, 7), true));
        assertFalse(BackwardLaunch.fusesDq(problem(64, false, 0, 7, 7), false));
        assertFalse(BackwardLaunch.fusesDq(problem(128, false, 0, 33), false));
        assertFalse(BackwardLaunch.fusesDq(problem(128, false, 0, 7, 7), false));
        assertFalse(BackwardLaunch.fusesDq(problem(128, false, 0, 3, 5, 7), false));
        NaProblem threeD = problem(128, false, 0, 3, 5, 7);
        System.setProperty(BackwardLaunch.FUSED_DQ_PROPERTY, "always");
        try {
            assertTrue(BackwardLaunch.fusesDq(threeD, false));
            assertFalse(BackwardLaunch.fusesDq(threeD, true));
            System.setProperty(BackwardLaunch.FUSED_DQ_PROPERTY, "never");
            assertFalse(BackwardLaunch.fusesDq(problem(32, false, 0, 7), false));
        } finally {
            System.clearProperty(BackwardLaunch.FUSED_DQ_PROPERTY);
        }
    }

    @Test
    void dqKernelTakesOneKvStageAtHeadDim128InHalfPrecision() {
        NaProblem d128 = problem(128, false, 0, 7, 7);
        NaProblem d64 = problem(64, false, 0, 7, 7);
        int tile = 64 * 136 * 2;
        assertEquals(1, BackwardLaunch.dqKvStages(d128, DType.BFLOAT16));
        assertEquals(
                4 * tile + 64 * 9 * 4, BackwardLaunch.dqSharedBytes(d128, DType.FLOAT16, true));
        assertEquals(2, BackwardLaunch.dqKvStages(d128, DType.FLOAT32));
        assertEquals(2, BackwardLaunch.dqKvStages(problem(128, true, 0, 7, 7), DType.BFLOAT16));
        assertEquals(2, BackwardLaunch.dqKvStages(d64, DType.BFLOAT16));
        assertEquals(
                6 * 64 * 72 * 2 + 64 * 9 * 4,
                BackwardLaunch.dqSharedBytes(d64, DType.BFLOAT16, true));
    }

    @Test
    void dqOrdersTheBiasGradientForWindowsOfUpTo64() {
        for (int d : new int[] {32, 64, 128}) {
            NaProblem nat = problem(d, true, 0, 7, 7);
            assertTrue(BackwardLaunch.ordersDrpbInDq(nat), "d" + d);
            assertEquals(
                    "na_bwd_dq_rpb_ordered_tc_bf16_d" + d,
                    BackwardLaunch.dqKernel(nat, DType.BFLOAT16));
        }
        assertTrue(BackwardLaunch.ordersDrpbInDq(problem(32, true, 0, 8, 8)));
        assertTrue(BackwardLaunch.ordersDrpbInDq(problem(32, true, 0, 4, 4, 4)));
        assertTrue(BackwardLaunch.ordersDrpbInDq(problem(32, true, 0, 64)));
        // windows over 64 positions, additional tokens (scalar path), no rpb: not in dq
        assertFalse(BackwardLaunch.ordersDrpbInDq(problem(32, true, 0, 9, 8)));
        assertFalse(BackwardLaunch.ordersDrpbInDq(problem(32, true, 0, 3, 5, 7)));
        assertFalse(BackwardLaunch.ordersDrpbInDq(problem(64, true, 4, 7, 7)));
        assertFalse(BackwardLaunch.ordersDrpbInDq(problem(32, false, 0, 7, 7)));
        assertEquals(
                "na_bwd_dq_rpb_tc_f32_d32",
                BackwardLaunch.dqKernel(problem(32, true, 0, 9, 8), DType.FLOAT32));
        assertEquals(
                "na_bwd_dq_tc_f16_d64",
                BackwardLaunch.dqKernel(problem(64, false, 0, 7, 7), DType.FLOAT16));
    }

    @Test
    void workspaceHoldsDeltaAndTheBiasTablesOrAccumulator() {
        NaProblem p = problem(32, true, 0, 7, 5);
        long rows = (long) p.batch() * p.tokens() * p.heads();
        long table = 13 * 9;
        // window 35: one table per dq CTA in both modes, [heads][batch][grid x][table]
        long ctas = 3L * 2 * TilePlan.choose(p, 64, 64).gridX();
        assertTrue(ctas >= 6);
        assertEquals(ctas * table, BackwardLaunch.drpbSliceFloats(p));
        for (boolean deterministic : new boolean[] {false, true}) {
            assertEquals(
                    4 * rows + 4 * ctas * table,
                    FusedNeighborhoodAttention.backwardWorkspaceBytes(
                            p, DType.FLOAT32, deterministic));
        }
        // a window over 64 positions: the default mode's accumulator; deterministic: delta only
        NaProblem wide = problem(32, true, 0, 9, 9);
        long wideRows = (long) wide.batch() * wide.tokens() * wide.heads();
        assertEquals(
                4 * wideRows + 4 * 3 * 17 * 17,
                FusedNeighborhoodAttention.backwardWorkspaceBytes(wide, DType.BFLOAT16, false));
        assertEquals(
                4 * wideRows,
                FusedNeighborhoodAttention.backwardWorkspaceBytes(wide, DType.FLOAT32, true));
        // the dq accumulator after delta starts 16-byte aligned: 2 x 9 tokens x 3 heads = 54 rows
        NaProblem odd = problem(32, false, 0, 6);
        assertEquals(224, BackwardLaunch.accumulatorOffset(odd));
        assertEquals(
                224 + 4 * 54 * 32,
                FusedNeighborhoodAttention.backwardWorkspaceBytes(odd, DType.BFLOAT16, false));
    }

    @Test
    void biasTableOrWindowDsInSharedMemoryOnlyUpToTheBudget() {
        NaProblem small = problem(64, true, 0, 7, 7); // 169 entries per head, window 49
        NaProblem none = problem(64, false, 0, 7, 7);
        NaProblem wide = problem(64, true, 0, 9, 9); // window 81: table of 289 or ordered kernel
        NaProblem large = problem(64, true, 0, 9, 9, 17); // 9537 entries per head
        for (DType dtype : DType.values()) {
            int base = BackwardLaunch.dqSharedBytes(none, dtype, false);
            assertEquals(base, BackwardLaunch.dqSharedBytes(none, dtype, true));
            assertEquals(base + 4 * 64 * 49, BackwardLaunch.dqSharedBytes(small, dtype, false));
            assertEquals(base + 4 * 64 * 49, BackwardLaunch.dqSharedBytes(small, dtype, true));
            assertEquals(base + 4 * 289, BackwardLaunch.dqSharedBytes(wide, dtype, false));
            assertEquals(base, BackwardLaunch.dqSharedBytes(wide, dtype, true));
            assertEquals(base, BackwardLaunch.dqSharedBytes(large, dtype, false));
            assertEquals(base, BackwardLaunch.dqSharedBytes(large, dtype, true));
        }
    }

    @Test
    void dqKernelWithAFullBiasTableFitsHopperSharedMemory() {
        // 2d kernel 31 x 33: 61 * 65 = 3965 entries, just under the 4096 of the budget
        for (DType dtype : DType.values()) {
            for (int d : List.of(32, 64, 128)) {
                NaProblem p = problem(d, true, 0, 31, 33);
                int bytes = BackwardLaunch.dqSharedBytes(p, dtype, false);
                // the rpb kernels keep two K/V stages: Q, dO and 2 x (K, V)
                int tiles = 6 * 64 * TensorCoreKernel.paddedRow(d, dtype) * dtype.bytes();
                assertEquals(tiles + 64 * 9 * 4 + 4 * p.rpbSizePerHead(), bytes);
                assertTrue(bytes <= HOPPER_SHARED_LIMIT, dtype + " d" + d + ": " + bytes);
                // the ordered kernel's largest window, 64 positions (8 x 8)
                int ordered = BackwardLaunch.dqSharedBytes(problem(d, true, 0, 8, 8), dtype, false);
                assertTrue(ordered <= HOPPER_SHARED_LIMIT, dtype + " d" + d + ": " + ordered);
            }
        }
    }

    @Test
    void everyTensorCoreBackwardKernelIsInTheFatbin() throws IOException {
        byte[] fatbin;
        try (InputStream in =
                BackwardPlanTest.class.getResourceAsStream("/ai/natten/cuda/natten.fatbin")) {
            Assumptions.assumeTrue(in != null, "built without nvcc: no fatbin");
            fatbin = in.readAllBytes();
        }
        String symbols = new String(fatbin, StandardCharsets.ISO_8859_1);
        for (DType dtype : DType.values()) {
            assertTrue(
                    symbols.contains(BackwardLaunch.drpbReduceKernel(dtype) + "\0"), dtype.name());
            for (int d : List.of(32, 64, 128)) {
                for (boolean rpb : new boolean[] {false, true}) {
                    NaProblem p = problem(d, rpb, 0, 7, 7); // with rpb: the ordered dq kernel
                    NaProblem wide = problem(d, rpb, 0, 9, 9); // with rpb: the atomic one
                    for (String kernel :
                            List.of(
                                    BackwardLaunch.dqKernel(p, dtype),
                                    BackwardLaunch.dqKernel(wide, dtype),
                                    BackwardLaunch.dkdvKernel(p, dtype))) {
                        assertTrue(symbols.contains(kernel + "\0"), kernel);
                    }
                }
            }
            if (dtype.bytes() == 2) { // the warp-specialized kernels (Hopper): head dim 128
                NaProblem p = problem(128, false, 0, 7, 7);
                for (String rowBlocks : new String[] {"1", "2"}) {
                    System.setProperty("natten.cuda.rowBlocks", rowBlocks);
                    try {
                        WarpSpecializedBackward dq = WarpSpecializedBackward.dq(p, dtype);
                        WarpSpecializedBackward dkdv = WarpSpecializedBackward.dkdv(p, dtype);
                        TensorCoreKernel forward = TensorCoreKernel.choose(p, dtype, 90);
                        for (String kernel : List.of(dq.name(), dkdv.name(), forward.name())) {
                            assertTrue(kernel.contains("_ws_"), kernel);
                            assertTrue(symbols.contains(kernel + "\0"), kernel);
                        }
                        for (int bytes :
                                new int[] {
                                    dq.sharedBytes(), dkdv.sharedBytes(), forward.sharedBytes()
                                }) {
                            // 64-row boxes: two CTAs per SM (228 KiB, 1 KiB reserved per CTA)
                            int limit =
                                    "1".equals(rowBlocks)
                                            ? 228 * 1024 / 2 - 1024
                                            : HOPPER_SHARED_LIMIT;
                            assertTrue(bytes <= limit, dtype + " " + rowBlocks + ": " + bytes);
                        }
                    } finally {
                        System.clearProperty("natten.cuda.rowBlocks");
                    }
                }
            }
        }
    }
}

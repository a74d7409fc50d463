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
    void workspaceHoldsDeltaAndTheBiasAccumulatorOfTheDefaultMode() {
        NaProblem p = problem(32, true, 0, 7, 5);
        long rows = (long) p.batch() * p.tokens() * p.heads();
        long table = 3L * 13 * 9;
        assertEquals(
                4 * rows + 4 * table,
                FusedNeighborhoodAttention.backwardWorkspaceBytes(p, DType.BFLOAT16, false));
        assertEquals(
                4 * rows,
                FusedNeighborhoodAttention.backwardWorkspaceBytes(p, DType.FLOAT32, true));
    }

    @Test
    void biasTableInSharedMemoryOnlyUpToTheBudgetAndInTheDefaultMode() {
        NaProblem small = problem(64, true, 0, 7, 7); // 169 entries per head
        NaProblem none = problem(64, false, 0, 7, 7);
        NaProblem large = problem(64, true, 0, 9, 9, 17); // 9537 entries per head
        for (DType dtype : DType.values()) {
            int base = BackwardLaunch.dqSharedBytes(none, dtype, false);
            assertEquals(base + 4 * 169, BackwardLaunch.dqSharedBytes(small, dtype, false));
            assertEquals(base, BackwardLaunch.dqSharedBytes(small, dtype, true));
            assertEquals(base, BackwardLaunch.dqSharedBytes(large, dtype, false));
        }
    }

    @Test
    void dqKernelWithAFullBiasTableFitsHopperSharedMemory() {
        // 2d kernel 31 x 33: 61 * 65 = 3965 entries, just under the 4096 of the budget
        for (DType dtype : DType.values()) {
            for (int d : List.of(32, 64, 128)) {
                NaProblem p = problem(d, true, 0, 31, 33);
                int bytes = BackwardLaunch.dqSharedBytes(p, dtype, false);
                assertEquals(
                        BackwardLaunch.dqSharedBytes(problem(d, false, 0, 31, 33), dtype, false)
                                + 4 * p.rpbSizePerHead(),
                        bytes);
                assertTrue(bytes <= HOPPER_SHARED_LIMIT, dtype + " d" + d + ": " + bytes);
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
            for (int d : List.of(32, 64, 128)) {
                for (boolean rpb : new boolean[] {false, true}) {
                    NaProblem p = problem(d, rpb, 0, 7, 7);
                    for (String kernel :
                            List.of(
                                    BackwardLaunch.dqKernel(p, dtype),
                                    BackwardLaunch.dkdvKernel(p, dtype))) {
                        assertTrue(symbols.contains(kernel + "\0"), kernel);
                    }
                }
            }
        }
    }
}

package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which kernels the Hopper (compute capability 9.0) choice takes, without a GPU: the
 * warp-specialized family for fp16/bf16 at head dim 128 and nowhere else, and the box sizes the
 * H200 measured fastest on the benchmark problems (docs/perf.md, v8).
 */
class WarpSpecializedChoiceTest {

    private static final int HOPPER = 90;

    @AfterEach
    void clearProperties() {
        System.clearProperty("natten.cuda.rowBlocks");
        System.clearProperty("natten.cuda.warpSpecialized");
    }

    private static NaProblem problem(int[] shape, int[] kernel, boolean[] causal, int heads) {
        NaOptions.Builder options = NaOptions.builder().setKernelSize(kernel);
        if (causal != null) {
            options.optCausal(causal);
        }
        return NaProblem.builder()
                .setOptions(options.build())
                .setBatch(1)
                .setSpatialSize(shape)
                .setHeads(heads)
                .setHeadDim(128)
                .build();
    }

    private static final NaProblem ONE_D = problem(new int[] {32768}, new int[] {4095}, null, 16);
    private static final NaProblem TWO_D =
            problem(new int[] {128, 128}, new int[] {31, 31}, null, 24);
    private static final NaProblem THREE_D =
            problem(new int[] {16, 48, 80}, new int[] {7, 15, 23}, null, 24);
    private static final NaProblem CAUSAL =
            problem(
                    new int[] {16, 32, 32},
                    new int[] {5, 9, 9},
                    new boolean[] {true, false, false},
                    16);

    @Test
    void boxSizesFollowTheMeasuredOptimum() {
        // forward: 128-query tiles on 1-D (the same work), 64 where the halo grows
        assertTrue(TensorCoreKernel.choose(ONE_D, DType.BFLOAT16, HOPPER).name().endsWith("_r128"));
        for (NaProblem p : new NaProblem[] {TWO_D, THREE_D, CAUSAL}) {
            assertTrue(TensorCoreKernel.choose(p, DType.BFLOAT16, HOPPER).name().endsWith("_r64"));
        }
        // backward: the same sizes on 1-D and 3d-causal-t (forward + backward measured)
        assertTrue(WarpSpecializedBackward.dq(ONE_D, DType.FLOAT16).name().endsWith("_r128"));
        assertTrue(WarpSpecializedBackward.dkdv(ONE_D, DType.FLOAT16).name().endsWith("_r128"));
        assertTrue(WarpSpecializedBackward.dq(CAUSAL, DType.FLOAT16).name().endsWith("_r64"));
        assertTrue(WarpSpecializedBackward.dkdv(CAUSAL, DType.FLOAT16).name().endsWith("_r64"));
        // the property forces a size
        System.setProperty("natten.cuda.rowBlocks", "2");
        assertEquals(
                "na_fwd_ws_bf16_d128_r128",
                TensorCoreKernel.choose(CAUSAL, DType.BFLOAT16, HOPPER).name());
        assertEquals(
                "na_bwd_dkdv_ws_bf16_d128_r128",
                WarpSpecializedBackward.dkdv(CAUSAL, DType.BFLOAT16).name());
    }

    @Test
    void familyOnlyWhereItRuns() {
        assertTrue(
                TensorCoreKernel.choose(TWO_D, DType.FLOAT32, HOPPER)
                        .name()
                        .startsWith("na_fwd_tc_"));
        assertTrue(
                TensorCoreKernel.choose(TWO_D, DType.BFLOAT16, 80).name().startsWith("na_fwd_tc_"));
        NaProblem d64 = GpuCheck.withHeadDim(TWO_D, 64);
        assertTrue(
                TensorCoreKernel.choose(d64, DType.BFLOAT16, HOPPER)
                        .name()
                        .startsWith("na_fwd_tc_"));
        assertTrue(BackwardLaunch.warpSpecialized(TWO_D, DType.BFLOAT16, false, HOPPER));
        assertTrue(BackwardLaunch.warpSpecialized(TWO_D, DType.BFLOAT16, true, HOPPER));
        assertFalse(BackwardLaunch.warpSpecialized(TWO_D, DType.FLOAT32, false, HOPPER));
        System.setProperty("natten.cuda.warpSpecialized", "false");
        assertTrue(
                TensorCoreKernel.choose(TWO_D, DType.BFLOAT16, HOPPER)
                        .name()
                        .startsWith("na_fwd_tc_"));
        assertFalse(BackwardLaunch.warpSpecialized(TWO_D, DType.BFLOAT16, false, HOPPER));
        System.setProperty("natten.cuda.warpSpecialized", "true");
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () -> TensorCoreKernel.choose(TWO_D, DType.BFLOAT16, 80));
        assertTrue(e.getMessage().contains("compute capability 8.0"), e.getMessage());
    }
}

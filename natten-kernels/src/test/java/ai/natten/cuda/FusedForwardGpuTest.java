package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import ai.natten.reference.RandomProblems;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The fused forward against the Java reference on the GPU (skipped without one). */
class FusedForwardGpuTest {

    private final Random random = new Random();

    @BeforeEach
    void requireGpu() {
        GpuCheck.assumeGpu();
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void randomProblemsOfEveryRank(DType dtype) {
        int[] headDims = {32, 64, 128, 8, 48};
        for (int rank = 1; rank <= 3; rank++) {
            for (int trial = 0; trial < 8; trial++) {
                NaProblem p = RandomProblems.next(random, rank, 300, true, true);
                int d = headDims[random.nextInt(headDims.length)];
                GpuCheck.checkForward(GpuCheck.withHeadDim(p, d), dtype, random);
            }
        }
    }

    static Stream<GpuCase> explicitCases() {
        return Stream.concat(
                GpuCase.sharedByBothPasses(),
                Stream.of(
                        GpuCase.of(
                                "1d large window",
                                b -> b.setKernelSize(127),
                                new int[] {700},
                                2,
                                2,
                                128,
                                false,
                                0),
                        GpuCase.of(
                                "1d k = L (all borders)",
                                b -> b.setKernelSize(33),
                                new int[] {33},
                                2,
                                1,
                                64,
                                false,
                                0),
                        GpuCase.of(
                                "2d even kernel",
                                b -> b.setKernelSize(8, 6),
                                new int[] {30, 27},
                                2,
                                2,
                                32,
                                false,
                                0),
                        GpuCase.of(
                                "2d stride",
                                b -> b.setKernelSize(7, 6).optStride(3, 6),
                                new int[] {29, 36},
                                2,
                                2,
                                32,
                                false,
                                0),
                        GpuCase.of(
                                "2d causal first axis",
                                b -> b.setKernelSize(9).optCausal(true, false),
                                new int[] {34, 30},
                                2,
                                2,
                                128,
                                false,
                                0),
                        GpuCase.of(
                                "2d causal both, stride, dilation",
                                b ->
                                        b.setKernelSize(5, 7)
                                                .optCausal(true)
                                                .optStride(2, 3)
                                                .optDilation(2, 1),
                                new int[] {28, 33},
                                2,
                                2,
                                64,
                                false,
                                0),
                        GpuCase.of(
                                "2d rpb",
                                b -> b.setKernelSize(7, 5).optDilation(2, 1),
                                new int[] {30, 26},
                                2,
                                2,
                                32,
                                true,
                                0),
                        GpuCase.of(
                                "2d additional kv",
                                b -> b.setKernelSize(5),
                                new int[] {20, 22},
                                2,
                                1,
                                64,
                                false,
                                70),
                        GpuCase.of(
                                "2d rpb + additional + scale",
                                b -> b.setKernelSize(7).optScale(0.3f),
                                new int[] {21, 19},
                                2,
                                2,
                                128,
                                true,
                                5),
                        GpuCase.of(
                                "3d",
                                b -> b.setKernelSize(3, 5, 7),
                                new int[] {8, 12, 16},
                                2,
                                2,
                                128,
                                false,
                                0),
                        GpuCase.of(
                                "3d causal time, dilation",
                                b ->
                                        b.setKernelSize(3, 5, 5)
                                                .optCausal(true, false, false)
                                                .optDilation(1, 2, 1),
                                new int[] {6, 14, 11},
                                2,
                                1,
                                64,
                                false,
                                0),
                        GpuCase.of(
                                "head dim 40",
                                b -> b.setKernelSize(5),
                                new int[] {12, 12},
                                2,
                                2,
                                40,
                                false,
                                3),
                        GpuCase.of(
                                "head dim 256",
                                b -> b.setKernelSize(5),
                                new int[] {10, 10},
                                1,
                                1,
                                256,
                                true,
                                0),
                        GpuCase.of(
                                "head dim 8",
                                b -> b.setKernelSize(3),
                                new int[] {9, 9},
                                2,
                                2,
                                8,
                                false,
                                0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("explicitCases")
    void explicitCasesInEveryDtype(GpuCase c) {
        NaProblem p = c.problem();
        for (DType dtype : DType.values()) {
            GpuCheck.checkForward(p, dtype, random);
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"1", "2"})
    void everyTensorCoreInstance(String rowBlocks) {
        System.setProperty("natten.cuda.rowBlocks", rowBlocks);
        System.setProperty("natten.cuda.warpSpecialized", "false"); // mma.sync
        try {
            for (int trial = 0; trial < 9; trial++) {
                NaProblem p = RandomProblems.next(random, 1 + trial % 3, 2000, true, true);
                int d = new int[] {32, 64, 128}[trial % 3];
                // float32 has the 1-row-block instances only: trials 6-8 run them in either setting
                DType dtype =
                        trial >= 6
                                ? DType.FLOAT32
                                : trial % 2 == 0 ? DType.BFLOAT16 : DType.FLOAT16;
                GpuCheck.checkForward(GpuCheck.withHeadDim(p, d), dtype, random);
            }
        } finally {
            System.clearProperty("natten.cuda.rowBlocks");
            System.clearProperty("natten.cuda.warpSpecialized");
        }
    }

    /**
     * The warp-specialized Hopper instances of 64 and 128 queries (skipped on other GPUs), forced:
     * every explicit case (ranks, borders, even kernels, dilation with L % d != 0, stride, causal,
     * GQA, rpb, additional tokens) at head dim 128 in fp16 and bf16, random problems of every rank,
     * and negative and zero scales over unmasked tiles.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"1", "2"})
    void warpSpecializedInstance(String rowBlocks) {
        Assumptions.assumeTrue(
                CudaDriver.module(0).computeCapability() == 90,
                "the warp-specialized forward needs compute capability 9.0");
        System.setProperty("natten.cuda.warpSpecialized", "true");
        System.setProperty("natten.cuda.rowBlocks", rowBlocks);
        try {
            int trial = 0;
            for (GpuCase c : explicitCases().toList()) {
                DType dtype = trial++ % 2 == 0 ? DType.BFLOAT16 : DType.FLOAT16;
                GpuCheck.checkForward(GpuCheck.withHeadDim(c.problem(), 128), dtype, random);
            }
            for (int i = 0; i < 9; i++) {
                NaProblem p = RandomProblems.next(random, 1 + i % 3, 2000, true, true);
                DType dtype = i % 2 == 0 ? DType.BFLOAT16 : DType.FLOAT16;
                GpuCheck.checkForward(GpuCheck.withHeadDim(p, 128), dtype, random);
            }
            for (float scale : new float[] {-0.7f, 0f}) {
                GpuCheck.checkForward(scaledWindowProblem(scale), DType.BFLOAT16, random);
            }
        } finally {
            System.clearProperty("natten.cuda.warpSpecialized");
            System.clearProperty("natten.cuda.rowBlocks");
        }
    }

    /**
     * Negative and zero scales on both instances, over key tiles inside every window of the query
     * tile (scaled without a mask) and masked ones: 1-D, 600 tokens, kernel 301, head dim 128. A
     * negative scale makes the row's largest logit its smallest score; a zero scale weighs the
     * window uniformly.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"1", "2"})
    void negativeAndZeroScaleOnUnmaskedTiles(String rowBlocks) {
        System.setProperty("natten.cuda.rowBlocks", rowBlocks);
        System.setProperty("natten.cuda.warpSpecialized", "false"); // mma.sync
        try {
            for (float scale : new float[] {-0.7f, 0f}) {
                NaProblem p = scaledWindowProblem(scale);
                GpuCheck.checkForward(p, DType.BFLOAT16, random);
                GpuCheck.checkForward(p, DType.FLOAT16, random);
            }
        } finally {
            System.clearProperty("natten.cuda.rowBlocks");
            System.clearProperty("natten.cuda.warpSpecialized");
        }
    }

    /** 1-D, 600 tokens, kernel 301, head dim 128, the given softmax scale. */
    private static NaProblem scaledWindowProblem(float scale) {
        return NaProblem.builder()
                .setOptions(NaOptions.builder().setKernelSize(301).optScale(scale).build())
                .setBatch(1)
                .setSpatialSize(600)
                .setHeads(2)
                .setHeadDim(128)
                .build();
    }

    @Test
    void badInputIsRejected() {
        NaProblem p = problem(12, false);
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        FusedNeighborhoodAttention.forward(
                                p, DType.BFLOAT16, 256, 256, 256, 256, 256, 0, 0, 0, 0));
        NaProblem withRpb = problem(32, true);
        try (DeviceBuffer buf = DeviceBuffer.allocate(0, 1 << 20)) {
            long a = buf.address();
            // rpb missing
            assertThrows(
                    IllegalArgumentException.class,
                    () ->
                            FusedNeighborhoodAttention.forward(
                                    withRpb, DType.FLOAT16, a, a, a, a, a, 0, 0, 0, 0));
            // misaligned element
            assertThrows(
                    IllegalArgumentException.class,
                    () ->
                            FusedNeighborhoodAttention.forward(
                                    problem(32, false),
                                    DType.FLOAT32,
                                    a + 2,
                                    a,
                                    a,
                                    a,
                                    a,
                                    0,
                                    0,
                                    0,
                                    0));
        }
    }

    private static NaProblem problem(int headDim, boolean rpb) {
        return NaProblem.builder()
                .setOptions(NaOptions.builder().setKernelSize(3).build())
                .setBatch(1)
                .setSpatialSize(8, 8)
                .setHeads(1)
                .setHeadDim(headDim)
                .optRpb(rpb)
                .build();
    }
}

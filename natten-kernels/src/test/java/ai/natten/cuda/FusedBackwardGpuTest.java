package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import ai.natten.reference.NaReference;
import ai.natten.reference.RandomProblems;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The fused backward against the Java reference backward on the GPU (skipped without one). */
class FusedBackwardGpuTest {

    /**
     * 1-D rpb with dilation 3 on 193 tokens (d128): groups of 65, 64 and 64 tokens, so the grid has
     * two 64-query tiles per group and the second one of the shorter groups finds no queries (its
     * dq CTA leaves its bias-gradient table as zeroed).
     */
    private static final GpuCase GROUP_WITHOUT_SECOND_TILE =
            GpuCase.of(
                    "1d rpb, dilation, a group without a second tile: a dq CTA without queries (d128)",
                    b -> b.setKernelSize(13).optDilation(3),
                    new int[] {193},
                    2,
                    2,
                    128,
                    true,
                    0);

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
            for (int trial = 0; trial < 6; trial++) {
                NaProblem p = RandomProblems.next(random, rank, 300, true, true);
                int d = headDims[random.nextInt(headDims.length)];
                GpuCheck.checkBackward(GpuCheck.withHeadDim(p, d), dtype, trial % 2 == 0, random);
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
                                new int[] {500},
                                2,
                                2,
                                128,
                                false,
                                0),
                        GpuCase.of(
                                "2d even kernel, stride",
                                b -> b.setKernelSize(8, 6).optStride(3, 2),
                                new int[] {30, 27},
                                2,
                                2,
                                32,
                                false,
                                0),
                        GpuCase.of(
                                "2d causal, stride, dilation",
                                b ->
                                        b.setKernelSize(5, 7)
                                                .optCausal(true, false)
                                                .optStride(2, 3)
                                                .optDilation(2, 1),
                                new int[] {28, 33},
                                2,
                                2,
                                128,
                                false,
                                0),
                        GpuCase.of(
                                "2d rpb, dilation (tensor cores, d32)",
                                b -> b.setKernelSize(7, 5).optDilation(2, 1),
                                new int[] {18, 16},
                                2,
                                2,
                                32,
                                true,
                                0),
                        GpuCase.of(
                                "1d rpb, dilation (tensor cores, d128)",
                                b -> b.setKernelSize(13).optDilation(3),
                                new int[] {200},
                                2,
                                2,
                                128,
                                true,
                                0),
                        GROUP_WITHOUT_SECOND_TILE,
                        GpuCase.of(
                                "2d rpb, stride, GQA 2:1 (tensor cores, d64)",
                                b -> b.setKernelSize(7, 9).optStride(2, 3),
                                new int[] {20, 27},
                                4,
                                2,
                                64,
                                true,
                                0),
                        GpuCase.of(
                                "3d rpb, dilation (tensor cores, d128)",
                                b -> b.setKernelSize(3, 5, 7).optDilation(1, 2, 1),
                                new int[] {6, 13, 14},
                                2,
                                2,
                                128,
                                true,
                                0),
                        GpuCase.of(
                                "3d rpb, table over the shared budget (global atomics, d32)",
                                b -> b.setKernelSize(9, 9, 17),
                                new int[] {9, 11, 17},
                                1,
                                1,
                                32,
                                true,
                                0),
                        GpuCase.of(
                                "2d rpb + additional",
                                b -> b.setKernelSize(5).optScale(0.3f),
                                new int[] {12, 13},
                                2,
                                1,
                                64,
                                true,
                                4),
                        GpuCase.of(
                                "3d causal time",
                                b -> b.setKernelSize(3, 5, 7).optCausal(true, false, false),
                                new int[] {8, 12, 16},
                                2,
                                2,
                                128,
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
                                0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("explicitCases")
    void explicitCasesInEveryDtype(GpuCase c) {
        NaProblem p = c.problem();
        for (DType dtype : DType.values()) {
            GpuCheck.checkBackward(p, dtype, false, random);
            GpuCheck.checkBackward(p, dtype, true, random);
        }
    }

    /**
     * The warp-specialized Hopper kernels (forward, dq and dk/dv; boxes of 64 and 128 rows; skipped
     * on other GPUs) on every explicit case at head dim 128 in fp16 and bf16, both modes (cases
     * with rpb or additional tokens take the mma.sync backward), and on random problems of every
     * rank.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"1", "2"})
    void warpSpecializedKernels(String rowBlocks) {
        Assumptions.assumeTrue(
                CudaDriver.module(0).computeCapability() == 90,
                "the warp-specialized kernels need compute capability 9.0");
        System.setProperty("natten.cuda.rowBlocks", rowBlocks);
        try {
            checkWarpSpecialized();
        } finally {
            System.clearProperty("natten.cuda.rowBlocks");
        }
    }

    private void checkWarpSpecialized() {
        int trial = 0;
        for (GpuCase c : explicitCases().toList()) {
            DType dtype = trial++ % 2 == 0 ? DType.BFLOAT16 : DType.FLOAT16;
            NaProblem p = GpuCheck.withHeadDim(c.problem(), 128);
            GpuCheck.checkBackward(p, dtype, trial % 3 == 0, random);
        }
        for (int i = 0; i < 9; i++) {
            NaProblem p = RandomProblems.next(random, 1 + i % 3, 1500, false, false);
            DType dtype = i % 2 == 0 ? DType.BFLOAT16 : DType.FLOAT16;
            GpuCheck.checkBackward(GpuCheck.withHeadDim(p, 128), dtype, i % 4 == 0, random);
        }
    }

    static Stream<GpuCase> deterministicCases() {
        return Stream.of(
                GpuCase.of(
                        "2d, no rpb (d32)",
                        b -> b.setKernelSize(5),
                        new int[] {20, 20},
                        2,
                        2,
                        32,
                        false,
                        0),
                GpuCase.of(
                        "2d rpb, bias gradient in dq (d32)",
                        b -> b.setKernelSize(5),
                        new int[] {20, 20},
                        2,
                        2,
                        32,
                        true,
                        0),
                GpuCase.of(
                        "2d rpb 7x7, dilation, GQA, bias gradient in dq (d64)",
                        b -> b.setKernelSize(7).optDilation(2, 3),
                        new int[] {40, 45},
                        4,
                        2,
                        64,
                        true,
                        0),
                GROUP_WITHOUT_SECOND_TILE,
                GpuCase.of(
                        "3d rpb, window over 64: scalar ordered bias gradient (d128)",
                        b -> b.setKernelSize(3, 5, 7),
                        new int[] {6, 9, 10},
                        2,
                        2,
                        128,
                        true,
                        0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("deterministicCases")
    void deterministicModeIsBitwiseReproducible(GpuCase c) {
        // dq, dk, dv and the bias gradient of two runs on the same inputs, every dtype
        NaProblem p = c.problem();
        for (DType dtype : DType.values()) {
            NaReference.Inputs in = GpuCheck.inputs(p, dtype, random);
            float[] dOut = GpuCheck.round(RandomProblems.normal(random, in.q().length, 1.0), dtype);
            float[][] first = GpuCheck.backward(p, dtype, in, dOut, true);
            float[][] second = GpuCheck.backward(p, dtype, in, dOut, true);
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(first[i], second[i], "gradient " + i + " " + dtype + " " + p);
            }
        }
    }

    @Test
    void missingGradientIsRejected() {
        NaProblem p =
                NaProblem.builder()
                        .setOptions(NaOptions.builder().setKernelSize(3).build())
                        .setBatch(1)
                        .setSpatialSize(8, 8)
                        .setHeads(1)
                        .setHeadDim(32)
                        .optRpb(true)
                        .build();
        try (DeviceBuffer buf = DeviceBuffer.allocate(0, 1 << 20)) {
            long a = buf.address();
            BackwardTensors noRpbGradient =
                    BackwardTensors.builder()
                            .setInputs(a, a, a)
                            .setForward(a, a)
                            .setOutputGradient(a)
                            .setGradients(a, a, a)
                            .optRpb(a, 0)
                            .build();
            assertThrows(
                    IllegalArgumentException.class,
                    () ->
                            FusedNeighborhoodAttention.backward(
                                    p, DType.BFLOAT16, noRpbGradient, false, 0));
        }
    }
}

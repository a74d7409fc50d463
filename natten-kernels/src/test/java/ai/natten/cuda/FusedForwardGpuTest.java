package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import ai.natten.reference.RandomProblems;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

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

    static Stream<Arguments> explicitCases() {
        return Stream.of(
                // name, options, spatial, heads, kvHeads, D, rpb, additional tokens
                Arguments.of(
                        "1d large window",
                        opts(b -> b.setKernelSize(127)),
                        new int[] {700},
                        2,
                        2,
                        128,
                        false,
                        0),
                Arguments.of(
                        "1d k = L (all borders)",
                        opts(b -> b.setKernelSize(33)),
                        new int[] {33},
                        2,
                        1,
                        64,
                        false,
                        0),
                Arguments.of(
                        "2d interior and borders",
                        opts(b -> b.setKernelSize(13, 17)),
                        new int[] {40, 52},
                        2,
                        2,
                        64,
                        false,
                        0),
                Arguments.of(
                        "2d even kernel",
                        opts(b -> b.setKernelSize(8, 6)),
                        new int[] {30, 27},
                        2,
                        2,
                        32,
                        false,
                        0),
                Arguments.of(
                        "2d dilation L % d != 0",
                        opts(b -> b.setKernelSize(5).optDilation(3, 4)),
                        new int[] {31, 45},
                        2,
                        2,
                        64,
                        false,
                        0),
                Arguments.of(
                        "2d stride",
                        opts(b -> b.setKernelSize(7, 6).optStride(3, 6)),
                        new int[] {29, 36},
                        2,
                        2,
                        32,
                        false,
                        0),
                Arguments.of(
                        "2d causal first axis",
                        opts(b -> b.setKernelSize(9).optCausal(true, false)),
                        new int[] {34, 30},
                        2,
                        2,
                        128,
                        false,
                        0),
                Arguments.of(
                        "2d causal both, stride, dilation",
                        opts(
                                b ->
                                        b.setKernelSize(5, 7)
                                                .optCausal(true)
                                                .optStride(2, 3)
                                                .optDilation(2, 1)),
                        new int[] {28, 33},
                        2,
                        2,
                        64,
                        false,
                        0),
                Arguments.of(
                        "2d GQA 4:1",
                        opts(b -> b.setKernelSize(7)),
                        new int[] {24, 24},
                        4,
                        1,
                        64,
                        false,
                        0),
                Arguments.of(
                        "2d rpb",
                        opts(b -> b.setKernelSize(7, 5).optDilation(2, 1)),
                        new int[] {30, 26},
                        2,
                        2,
                        32,
                        true,
                        0),
                Arguments.of(
                        "2d additional kv",
                        opts(b -> b.setKernelSize(5)),
                        new int[] {20, 22},
                        2,
                        1,
                        64,
                        false,
                        70),
                Arguments.of(
                        "2d rpb + additional + scale",
                        opts(b -> b.setKernelSize(7).optScale(0.3f)),
                        new int[] {21, 19},
                        2,
                        2,
                        128,
                        true,
                        5),
                Arguments.of(
                        "3d",
                        opts(b -> b.setKernelSize(3, 5, 7)),
                        new int[] {8, 12, 16},
                        2,
                        2,
                        128,
                        false,
                        0),
                Arguments.of(
                        "3d causal time, dilation",
                        opts(
                                b ->
                                        b.setKernelSize(3, 5, 5)
                                                .optCausal(true, false, false)
                                                .optDilation(1, 2, 1)),
                        new int[] {6, 14, 11},
                        2,
                        1,
                        64,
                        false,
                        0),
                Arguments.of(
                        "head dim 40",
                        opts(b -> b.setKernelSize(5)),
                        new int[] {12, 12},
                        2,
                        2,
                        40,
                        false,
                        3),
                Arguments.of(
                        "head dim 256",
                        opts(b -> b.setKernelSize(5)),
                        new int[] {10, 10},
                        1,
                        1,
                        256,
                        true,
                        0),
                Arguments.of(
                        "head dim 8",
                        opts(b -> b.setKernelSize(3)),
                        new int[] {9, 9},
                        2,
                        2,
                        8,
                        false,
                        0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("explicitCases")
    void explicitCasesInEveryDtype(
            String name,
            NaOptions options,
            int[] spatial,
            int heads,
            int kvHeads,
            int headDim,
            boolean rpb,
            int additional) {
        NaProblem p =
                NaProblem.builder()
                        .setOptions(options)
                        .setBatch(2)
                        .setSpatialSize(spatial)
                        .setHeads(heads)
                        .optKvHeads(kvHeads)
                        .setHeadDim(headDim)
                        .optRpb(rpb)
                        .optAdditionalTokens(additional)
                        .build();
        for (DType dtype : DType.values()) {
            GpuCheck.checkForward(p, dtype, random);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"m1", "m2", "wg1", "wg2"})
    void everyTensorCoreInstance(String instance) {
        boolean wgmma = instance.startsWith("wg");
        if (wgmma) {
            GpuCheck.assumeWgmma();
        }
        int[] headDims = wgmma ? new int[] {64, 128} : new int[] {32, 64, 128};
        GpuCheck.withInstance(
                instance,
                () -> {
                    for (int trial = 0; trial < 6; trial++) {
                        NaProblem p = RandomProblems.next(random, 1 + trial % 3, 2000, true, true);
                        int d = headDims[trial % headDims.length];
                        DType dtype = trial % 2 == 0 ? DType.BFLOAT16 : DType.FLOAT16;
                        GpuCheck.checkForward(GpuCheck.withHeadDim(p, d), dtype, random);
                    }
                });
    }

    /**
     * The explicit cases (borders, dilation, stride, causal, GQA, rpb, additional tokens, every
     * rank) on both wgmma instances, at head dim 128 where the case has it, else 64.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("explicitCases")
    void explicitCasesOnWgmma(
            String name,
            NaOptions options,
            int[] spatial,
            int heads,
            int kvHeads,
            int headDim,
            boolean rpb,
            int additional) {
        GpuCheck.assumeWgmma();
        NaProblem p =
                NaProblem.builder()
                        .setOptions(options)
                        .setBatch(2)
                        .setSpatialSize(spatial)
                        .setHeads(heads)
                        .optKvHeads(kvHeads)
                        .setHeadDim(headDim == 128 ? 128 : 64)
                        .optRpb(rpb)
                        .optAdditionalTokens(additional)
                        .build();
        for (String instance : new String[] {"wg1", "wg2"}) {
            GpuCheck.withInstance(
                    instance,
                    () -> {
                        GpuCheck.checkForward(p, DType.BFLOAT16, random);
                        GpuCheck.checkForward(p, DType.FLOAT16, random);
                    });
        }
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

    private static NaOptions opts(java.util.function.UnaryOperator<NaOptions.Builder> f) {
        return f.apply(NaOptions.builder()).build();
    }
}

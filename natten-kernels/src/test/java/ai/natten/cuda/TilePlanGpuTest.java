package ai.natten.cuda;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every tile plan the search can produce is correct, not only the one the cost model picks: the
 * plans of ranks 1 to 5 (property {@code natten.cuda.planRank}), forward and backward, against the
 * reference on fresh random inputs.
 */
@Tag("gpu")
class TilePlanGpuTest {

    @AfterEach
    void clearRank() {
        System.clearProperty("natten.cuda.planRank");
    }

    static Stream<Arguments> plans() {
        Stream<Arguments> problems =
                Stream.of(
                        Arguments.of(
                                problem(
                                        b -> b.setKernelSize(7, 9).optDilation(2, 1),
                                        new int[] {30, 41},
                                        64),
                                DType.BFLOAT16),
                        Arguments.of(
                                problem(
                                        b -> b.setKernelSize(3, 5, 5).optCausal(true, false, false),
                                        new int[] {8, 12, 13},
                                        32),
                                DType.FLOAT16),
                        Arguments.of(
                                problem(
                                        b -> b.setKernelSize(5, 7).optStride(2, 3),
                                        new int[] {19, 22},
                                        128),
                                DType.FLOAT32));
        return problems.flatMap(
                a ->
                        IntStream.rangeClosed(1, 5)
                                .mapToObj(rank -> Arguments.of(a.get()[0], a.get()[1], rank)));
    }

    private static NaProblem problem(
            UnaryOperator<NaOptions.Builder> options, int[] spatial, int headDim) {
        return NaProblem.builder()
                .setOptions(options.apply(NaOptions.builder()).build())
                .setBatch(2)
                .setSpatialSize(spatial)
                .setHeads(2)
                .setHeadDim(headDim)
                .build();
    }

    @ParameterizedTest(name = "rank {2}: {1} {0}")
    @MethodSource("plans")
    void planOfRankComputesTheReference(NaProblem p, DType dtype, int rank) {
        GpuCheck.assumeGpu();
        System.setProperty("natten.cuda.planRank", "" + rank);
        System.out.println(
                "rank " + rank + ": " + FusedNeighborhoodAttention.describeKernels(p, dtype));
        Random random = new Random(rank * 31L + p.rank());
        GpuCheck.checkForward(p, dtype, random);
        GpuCheck.checkBackward(p, dtype, false, random);
        GpuCheck.checkBackward(p, dtype, true, random);
    }
}

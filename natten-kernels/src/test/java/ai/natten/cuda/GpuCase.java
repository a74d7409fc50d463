package ai.natten.cuda;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A named problem of the GPU tests' explicit case tables (batch 2); JUnit shows the name.
 *
 * @param name what the case covers
 * @param problem the problem
 */
record GpuCase(String name, NaProblem problem) {

    /**
     * Builds a case.
     *
     * @param name what the case covers
     * @param options sets the kernel size and any other option on a fresh options builder
     * @param spatial the token grid, one size per axis
     * @param heads query heads
     * @param kvHeads key/value heads (GQA when fewer than {@code heads})
     * @param headDim the head dim
     * @param rpb whether a relative positional bias is added
     * @param additional additional key/value tokens
     */
    static GpuCase of(
            String name,
            UnaryOperator<NaOptions.Builder> options,
            int[] spatial,
            int heads,
            int kvHeads,
            int headDim,
            boolean rpb,
            int additional) {
        return new GpuCase(
                name,
                NaProblem.builder()
                        .setOptions(options.apply(NaOptions.builder()).build())
                        .setBatch(2)
                        .setSpatialSize(spatial)
                        .setHeads(heads)
                        .optKvHeads(kvHeads)
                        .setHeadDim(headDim)
                        .optRpb(rpb)
                        .optAdditionalTokens(additional)
                        .build());
    }

    /** Returns the cases both the forward and the backward tests run. */
    static Stream<GpuCase> sharedByBothPasses() {
        return Stream.of(
                GpuCase.of(
                        "2d interior and borders",
                        b -> b.setKernelSize(13, 17),
                        new int[] {40, 52},
                        2,
                        2,
                        64,
                        false,
                        0),
                GpuCase.of(
                        "2d dilation L % d != 0",
                        b -> b.setKernelSize(5).optDilation(3, 4),
                        new int[] {31, 45},
                        2,
                        2,
                        64,
                        false,
                        0),
                GpuCase.of(
                        "2d GQA 4:1",
                        b -> b.setKernelSize(7),
                        new int[] {24, 24},
                        4,
                        1,
                        64,
                        false,
                        0));
    }

    @Override
    public String toString() {
        return name;
    }
}

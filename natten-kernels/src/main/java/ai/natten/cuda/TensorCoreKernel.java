package ai.natten.cuda;

import ai.natten.core.NaProblem;

/**
 * One instance of the tensor-core forward kernel and its tile plan; key/value tiles of 64 keys.
 *
 * <ul>
 *   <li>mma.sync ({@code na_forward_tc.cuh}, every GPU of compute capability 8.0+): 4 warps of 1 or
 *       2 m16 row blocks each, so query tiles of 64 or 128 tokens. float16 and bfloat16 have both
 *       instances, float32 (3xTF32) only the 1-row-block one. At head dim 128 the fp16/bf16
 *       1-row-block instance keeps one key/value stage instead of two, so that four CTAs fit an SM
 *       (the others keep two stages and double-buffer the key/value loads).
 *   <li>warp-specialized ({@code na_forward_ws.cuh}, Hopper: compute capability 9.0, fp16/bf16,
 *       head dim 128): a producer warpgroup copying key/value tiles into a pipeline of stages and
 *       one or two consumer warpgroups on warpgroup MMA (wgmma), 64 queries each: query tiles of 64
 *       (two CTAs per SM) or 128 (one).
 * </ul>
 *
 * <p>Where the warp-specialized family runs it is taken, else mma.sync. Within a family, larger
 * query tiles reuse each key/value tile for twice the queries (fewer shared-memory and L2 reads per
 * product) but enlarge the halo; the choice weighs the two plans' modelled work by the measured
 * relative speed of the family's instances. The system property {@code natten.cuda.rowBlocks} (1 or
 * 2: 64 or 128 queries) forces the tile size where both exist, for benchmarking; {@code
 * natten.cuda.tensorCores=false} sends every problem to the scalar kernels (forward and backward),
 * to compare the two paths; {@code natten.cuda.warpSpecialized} ({@code true} or {@code false})
 * forces the warp-specialized family where it runs, or forbids it.
 */
final class TensorCoreKernel {

    private static final int WARPS = 4;
    private static final int KV_TILE = 64;
    private static final int ROW_INFO_INTS = 10;

    /**
     * The property that forces ({@code true}: the forward, where it runs) or forbids ({@code
     * false}: forward and backward) the warp-specialized kernels.
     */
    static final String WARP_SPECIALIZED = "natten.cuda.warpSpecialized";

    /**
     * Time per product of the 2-row-block instance relative to the 1-row-block one, by head dim
     * (measured on an H100 over the KernelBench problems, docs/perf.md): the larger the head dim,
     * the more the halved shared-memory traffic per product pays. At 128 0.8 against the two-stage
     * 1-row-block instance at 2 CTAs per SM. Against the one-stage one at 4 (fp16/bf16, 25% faster
     * than that) the measured time ratio over the modelled cost ratio was 0.84 on the 1-D problem
     * (the same work), 0.93 on 3d-16x48x80, 0.99 on 3d-causal-t and 1.0 on 2d-128-k31 (H200,
     * docs/perf.md): 0.9 picks the faster instance on all four.
     */
    private static double twoRowBlockSpeed(int headDim, DType dtype) {
        if (headDim >= 128) {
            return kvStages(dtype, headDim, 1) == 1 ? 0.9 : 0.8;
        }
        return headDim >= 64 ? 0.92 : 1.05;
    }

    private final DType dtype;
    private final int headDim;
    private final int rowBlocks;
    private final int kvStages;
    private final TilePlan plan;
    private final boolean warpSpecialized;

    private TensorCoreKernel(
            DType dtype, int headDim, int rowBlocks, TilePlan plan, boolean warpSpecialized) {
        this.dtype = dtype;
        this.headDim = headDim;
        this.rowBlocks = rowBlocks;
        this.kvStages =
                warpSpecialized
                        ? warpSpecializedStages(rowBlocks)
                        : kvStages(dtype, headDim, rowBlocks);
        this.plan = plan;
        this.warpSpecialized = warpSpecialized;
    }

    /**
     * Pipeline stages of the warp-specialized instance of 64 or 128 queries ({@code
     * fwd_ws::Config::STAGES}): two where two CTAs share an SM, else four.
     */
    private static int warpSpecializedStages(int rowBlocks) {
        return rowBlocks == 2 ? 4 : 2;
    }

    /**
     * Time per product of the warp-specialized kernels with boxes of 64 rows (one consumer
     * warpgroup, two CTAs per SM) relative to those of 128 (two consumer warpgroups sharing each
     * tile walked): the choice between the two weighs their plans' modelled work by it, here and in
     * the backward ({@link WarpSpecializedBackward}). Measured on an H200 on the 1-D problem, where
     * both do the same work (docs/perf.md): forward 6.39 against 5.60 ms, forward + backward 26.3
     * against 23.4. With it the model picks the faster size on all four head-dim-128 problems of
     * the benchmark set (64 rows on 2d-128-k31, 3d-16x48x80 and 3d-causal-t, 128 on 1-D).
     */
    static final double WS_SMALL_BOX_SPEED = 1.13;

    /**
     * Returns whether a warp-specialized kernel takes boxes of 128 rows rather than 64, given the
     * modelled work of the two plans: {@code natten.cuda.rowBlocks} (1 or 2) if set, else the
     * smaller modelled time ({@link #WS_SMALL_BOX_SPEED}).
     */
    static boolean largeWarpSpecializedBoxes(double smallCost, double largeCost) {
        String forced = System.getProperty("natten.cuda.rowBlocks");
        return forced == null ? largeCost < smallCost * WS_SMALL_BOX_SPEED : "2".equals(forced);
    }

    /**
     * Returns whether the warp-specialized instance exists for the problem on a device of the
     * compute capability (10 * major + minor): Hopper's sm_90a code, 16-bit types, head dim 128 (at
     * 64 the mma.sync instances measured faster: docs/perf.md).
     */
    static boolean hasWarpSpecialized(int headDim, DType dtype, int computeCapability) {
        return computeCapability == 90 && dtype.bytes() == 2 && headDim == 128;
    }

    /**
     * K/V stages of an instance ({@code NA_FWD_KV_STAGES} in {@code natten.cu}): one for 64-query
     * tiles at head dim 128 in fp16/bf16 (a third less shared memory, four CTAs per SM), else two.
     */
    private static int kvStages(DType dtype, int headDim, int rowBlocks) {
        return dtype.bytes() == 2 && headDim == 128 && rowBlocks == 1 ? 1 : 2;
    }

    /**
     * Returns whether the tensor-core kernels (forward and backward) have instances for the head
     * dim and are not switched off by {@code natten.cuda.tensorCores=false}.
     */
    static boolean hasInstance(int headDim) {
        return (headDim == 32 || headDim == 64 || headDim == 128)
                && !"false".equals(System.getProperty("natten.cuda.tensorCores"));
    }

    /**
     * Returns the shared-memory row stride in elements of a tile of rows of {@code elements}
     * elements: padded by one 16-byte chunk ({@code MmaOps<T>::EPC} in {@code na_mma.cuh}).
     */
    static int paddedRow(int elements, DType dtype) {
        return elements + 16 / dtype.bytes();
    }

    /**
     * Returns the instance and plan for the problem (a head dim with an instance) on a device of
     * the compute capability (10 * major + minor): the warp-specialized family wherever it runs
     * (measured faster than mma.sync on every head-dim-128 problem of the benchmark set,
     * docs/perf.md) unless a property forbids it, else mma.sync; within the family the instance of
     * the smaller modelled time.
     *
     * @throws IllegalStateException when {@code natten.cuda.warpSpecialized=true} asks for an
     *     instance the problem or device does not have
     */
    static TensorCoreKernel choose(NaProblem problem, DType dtype, int computeCapability) {
        String ws = System.getProperty(WARP_SPECIALIZED);
        String forced = System.getProperty("natten.cuda.rowBlocks");
        boolean wsRuns = hasWarpSpecialized(problem.headDim(), dtype, computeCapability);
        if ("true".equals(ws) || (ws == null && wsRuns)) {
            if (!wsRuns) {
                throw new IllegalStateException(
                        WARP_SPECIALIZED
                                + "=true: no warp-specialized forward for head dim "
                                + problem.headDim()
                                + ", "
                                + dtype
                                + " on compute capability "
                                + computeCapability / 10
                                + "."
                                + computeCapability % 10
                                + " (needs 9.0, fp16/bf16, head dim 128)");
            }
            TilePlan small = TilePlan.choose(problem, queryTile(1), KV_TILE);
            TilePlan large = TilePlan.choose(problem, queryTile(2), KV_TILE);
            return largeWarpSpecializedBoxes(small.cost(), large.cost())
                    ? new TensorCoreKernel(dtype, problem.headDim(), 2, large, true)
                    : new TensorCoreKernel(dtype, problem.headDim(), 1, small, true);
        }
        TilePlan one = TilePlan.choose(problem, queryTile(1), KV_TILE);
        if ("1".equals(forced) || dtype == DType.FLOAT32) {
            return new TensorCoreKernel(dtype, problem.headDim(), 1, one, false);
        }
        TilePlan two = TilePlan.choose(problem, queryTile(2), KV_TILE);
        boolean useTwo =
                "2".equals(forced)
                        || two.cost() * twoRowBlockSpeed(problem.headDim(), dtype) < one.cost();
        return useTwo
                ? new TensorCoreKernel(dtype, problem.headDim(), 2, two, false)
                : new TensorCoreKernel(dtype, problem.headDim(), 1, one, false);
    }

    private static int queryTile(int rowBlocks) {
        return 16 * rowBlocks * WARPS;
    }

    /** Returns the kernel's C name. */
    String name() {
        if (warpSpecialized) {
            return "na_fwd_ws_"
                    + dtype.kernelSuffix()
                    + "_d"
                    + headDim
                    + "_r"
                    + queryTile(rowBlocks);
        }
        return "na_fwd_tc_"
                + dtype.kernelSuffix()
                + "_d"
                + headDim
                + "_w"
                + WARPS
                + "_m"
                + rowBlocks;
    }

    /** Returns the tile plan. */
    TilePlan plan() {
        return plan;
    }

    /** Returns the threads per block. */
    int threads() {
        return warpSpecialized ? 128 * (1 + rowBlocks) : 32 * WARPS;
    }

    /** Returns the dynamic shared memory: Q, the K/V stages, row windows, key tables. */
    int sharedBytes() {
        int bm = queryTile(rowBlocks);
        int row = paddedRow(headDim, dtype);
        int tables = (bm * ROW_INFO_INTS + 2 * KV_TILE) * 4;
        if (warpSpecialized) { // fwd_ws::Config::SMEM: alignment slack, swizzled stages, mbarriers
            return 1024
                    + 2 * kvStages * KV_TILE * headDim * dtype.bytes()
                    + bm * row * dtype.bytes()
                    + tables
                    + 2 * kvStages * 8;
        }
        return (bm * row + 2 * kvStages * KV_TILE * row) * dtype.bytes() + tables;
    }

    @Override
    public String toString() {
        return name() + " " + plan;
    }
}

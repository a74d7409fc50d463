package ai.natten.cuda;

import ai.natten.core.NaProblem;

/**
 * One instance of the tensor-core forward kernel ({@code na_forward_tc.cuh}) and its tile plan: 4
 * warps of 1 or 2 m16 row blocks each, so query tiles of 64 or 128 tokens, key/value tiles of 64.
 *
 * <p>Larger query tiles reuse each key/value tile for twice the queries (fewer shared-memory and L2
 * reads per product) but enlarge the halo; the choice weighs the two plans' modelled work by the
 * measured relative speed of the instances. Each instance also comes with per-warp key ranges
 * ({@code _ws}: warps skip the 32-key runs outside their own halo), planned by the warp-aware cost
 * model of {@link TilePlan}. The system properties {@code natten.cuda.rowBlocks} (1 or 2) and
 * {@code natten.cuda.warpSkip} (true or false) force a choice, for benchmarking.
 */
final class TensorCoreKernel {

    private static final int WARPS = 4;
    private static final int KV_TILE = 64;
    private static final int ROW_INFO_INTS = 9;
    private static final int WARP_INFO_INTS = 9;
    private static final int RUN_INFO_INTS = 6;

    /**
     * Time per modelled unit of the warp-skipping instances relative to the plain ones (their extra
     * per-tile test and the predicated copy of the tile body).
     */
    private static final double WARP_SKIP_SPEED = 1.0;

    /**
     * Time per product of the 2-row-block instance relative to the 1-row-block one, by head dim
     * (measured on an H100 over the KernelBench problems, docs/perf.md): the larger the head dim,
     * the more the halved shared-memory traffic per product pays.
     */
    private static double twoRowBlockSpeed(int headDim) {
        return headDim >= 128 ? 0.8 : headDim >= 64 ? 0.92 : 1.05;
    }

    private final DType dtype;
    private final int headDim;
    private final int rowBlocks;
    private final boolean warpSkip;
    private final TilePlan plan;

    private TensorCoreKernel(
            DType dtype, int headDim, int rowBlocks, boolean warpSkip, TilePlan plan) {
        this.dtype = dtype;
        this.headDim = headDim;
        this.rowBlocks = rowBlocks;
        this.warpSkip = warpSkip;
        this.plan = plan;
    }

    /** Returns whether an instance exists for the head dim. */
    static boolean hasInstance(int headDim) {
        return headDim == 32 || headDim == 64 || headDim == 128;
    }

    /** Returns the instance and plan for the problem (fp16/bf16, a head dim with an instance). */
    static TensorCoreKernel choose(NaProblem problem, DType dtype) {
        String forcedRows = System.getProperty("natten.cuda.rowBlocks");
        String forcedSkip = System.getProperty("natten.cuda.warpSkip");
        TensorCoreKernel best = null;
        double bestCost = Double.POSITIVE_INFINITY;
        for (int rows = 1; rows <= 2; rows++) {
            if (forcedRows != null && !forcedRows.equals(Integer.toString(rows))) {
                continue;
            }
            for (boolean skip : new boolean[] {false, true}) {
                if (forcedSkip != null && Boolean.parseBoolean(forcedSkip) != skip) {
                    continue;
                }
                int warpRows = skip ? queryTile(rows) / WARPS : 0;
                TilePlan plan = TilePlan.choose(problem, queryTile(rows), KV_TILE, warpRows);
                double cost =
                        plan.cost()
                                * (rows == 2 ? twoRowBlockSpeed(problem.headDim()) : 1)
                                * (skip ? WARP_SKIP_SPEED : 1);
                if (cost < bestCost) {
                    bestCost = cost;
                    best = new TensorCoreKernel(dtype, problem.headDim(), rows, skip, plan);
                }
            }
        }
        if (best == null) {
            throw new IllegalArgumentException(
                    "natten.cuda.rowBlocks must be 1 or 2, was " + forcedRows);
        }
        return best;
    }

    private static int queryTile(int rowBlocks) {
        return 16 * rowBlocks * WARPS;
    }

    /** Returns the kernel's C name. */
    String name() {
        return "na_fwd_tc_"
                + dtype.kernelSuffix()
                + "_d"
                + headDim
                + "_w"
                + WARPS
                + "_m"
                + rowBlocks
                + (warpSkip ? "_ws" : "");
    }

    /** Returns the tile plan. */
    TilePlan plan() {
        return plan;
    }

    /** Returns the threads per block. */
    int threads() {
        return 32 * WARPS;
    }

    /**
     * Returns the dynamic shared memory: Q, two K/V stages, row windows, key tables, warp halos,
     * key runs.
     */
    int sharedBytes() {
        int bm = queryTile(rowBlocks);
        int row = headDim + 8;
        return (bm * row + 4 * KV_TILE * row) * 2
                + (bm * ROW_INFO_INTS + 2 * KV_TILE + WARPS * WARP_INFO_INTS + RUN_INFO_INTS) * 4;
    }

    @Override
    public String toString() {
        return name() + " " + plan;
    }
}

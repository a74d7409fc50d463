package ai.natten.cuda;

import ai.natten.core.NaProblem;
import java.util.function.ToDoubleFunction;

/**
 * One warp-specialized Hopper backward kernel ({@code na_backward_ws.cuh}: compute capability 9.0,
 * fp16/bf16, head dim 128, no rpb) and its tile plan: the dq kernel over boxes of queries walking
 * 64-key tiles, or the dk/dv kernel over boxes of keys walking 64-query tiles. A CTA is a producer
 * warpgroup and one or two consumer warpgroups of 64 rows: boxes of 64 rows (two CTAs per SM, two
 * stages) or 128 (one CTA, three stages), chosen like the forward's ({@link
 * TensorCoreKernel#WS_SMALL_BOX_SPEED}) or forced by {@code natten.cuda.rowBlocks} (1 or 2).
 */
final class WarpSpecializedBackward {

    private static final int TILE = BackwardLaunch.TILE;
    private static final int ROW_INTS = BackwardLaunch.ROW_INTS;

    private final String what;
    private final DType dtype;
    private final int headDim;
    private final TilePlan plan;
    private final int rows;

    private WarpSpecializedBackward(
            String what, DType dtype, int headDim, TilePlan plan, int rows) {
        this.what = what;
        this.dtype = dtype;
        this.headDim = headDim;
        this.plan = plan;
        this.rows = rows;
    }

    /** The dq kernel for the problem: query boxes of 64 or 128, plans of the forward's cost. */
    static WarpSpecializedBackward dq(NaProblem p, DType dtype) {
        return choose(
                "dq",
                p,
                dtype,
                TilePlan.choose(p, TILE, TILE),
                TilePlan.choose(p, 2 * TILE, TILE),
                TilePlan::cost);
    }

    /** The dk/dv kernel for the problem: key boxes of 64 or 128, plans of the inverse cost. */
    static WarpSpecializedBackward dkdv(NaProblem p, DType dtype) {
        return choose(
                "dkdv",
                p,
                dtype,
                TilePlan.chooseInverse(p, TILE, TILE),
                TilePlan.chooseInverse(p, 2 * TILE, TILE),
                TilePlan::inverseCost);
    }

    private static WarpSpecializedBackward choose(
            String what,
            NaProblem p,
            DType dtype,
            TilePlan small,
            TilePlan large,
            ToDoubleFunction<TilePlan> cost) {
        return TensorCoreKernel.largeWarpSpecializedBoxes(
                        cost.applyAsDouble(small), cost.applyAsDouble(large))
                ? new WarpSpecializedBackward(what, dtype, p.headDim(), large, 2 * TILE)
                : new WarpSpecializedBackward(what, dtype, p.headDim(), small, TILE);
    }

    /** Returns the kernel's C name, e.g. {@code na_bwd_dkdv_ws_bf16_d128_r64}. */
    String name() {
        return "na_bwd_" + what + "_ws_" + dtype.kernelSuffix() + "_d" + headDim + "_r" + rows;
    }

    /** Returns the tile plan: boxes of {@code rows} rows walking tiles of 64. */
    TilePlan plan() {
        return plan;
    }

    /** Returns the threads per CTA: the producer and one consumer warpgroup per 64 rows. */
    int threads() {
        return 128 + 2 * rows;
    }

    /**
     * Returns the dynamic shared memory ({@code bwd_ws::DqConfig::SMEM}, {@code
     * bwd_ws::Config::SMEM}): 1 KiB of alignment slack, then for dq the K and V stages, dO and Q
     * (padded rows) of the query box; for dk/dv K and V of the key box, the Q and dO stages and
     * their LSE and delta; then the box's row table, the walked tile's table and the stages'
     * mbarriers.
     */
    int sharedBytes() {
        int stages = rows == 2 * TILE ? 3 : 2;
        int d = headDim;
        int tiles =
                "dq".equals(what)
                        ? (2 * stages * TILE * d
                                        + rows * d
                                        + rows * TensorCoreKernel.paddedRow(d, dtype))
                                * dtype.bytes()
                        : (2 * rows * d + 2 * stages * TILE * d) * dtype.bytes()
                                + 2 * stages * TILE * 4;
        return 1024 + tiles + rows * ROW_INTS * 4 + 2 * TILE * 4 + 2 * stages * 8;
    }

    @Override
    public String toString() {
        return name() + " " + plan;
    }
}

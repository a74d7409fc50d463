package ai.natten.cuda;

import ai.natten.core.NaProblem;

/**
 * One instance of the tensor-core forward kernel ({@code na_forward_tc.cuh}) and its tile plan.
 * Key/value tiles hold 64 keys; query tiles 64 or 128 queries, in two families:
 *
 * <ul>
 *   <li>mma.sync ({@code m1}, {@code m2}): 4 warps of 1 or 2 m16 row blocks each, every GPU of
 *       sm_80+ and head dims 32, 64, 128;
 *   <li>wgmma ({@code wg1}, {@code wg2}): 1 or 2 warpgroups of 64 query rows each on Hopper
 *       (compute capability 9.0, the fatbin's sm_90a code) for head dims 64 and 128. Measured
 *       slower than mma.sync on every benchmark problem (docs/perf.md, v7): never chosen
 *       automatically.
 * </ul>
 *
 * <p>Larger query tiles reuse each key/value tile for twice the queries (fewer shared-memory and L2
 * reads per product) but enlarge the halo; the automatic choice weighs the two mma.sync plans'
 * modelled work by the measured relative speed of the instances. The system property {@code
 * natten.cuda.forwardInstance} ({@code m1}, {@code m2}, {@code wg1}, {@code wg2}) forces one, for
 * tests and benchmarks.
 */
final class TensorCoreKernel {

    /** The system property that forces an instance. */
    static final String FORCE_PROPERTY = "natten.cuda.forwardInstance";

    private static final int KV_TILE = 64;
    private static final int ROW_INFO_INTS = 9;
    private static final int HOPPER = 90;

    /** The instance families. */
    enum Family {
        /** mma.sync m16n8k16, 4 warps; tiles of 16 x 4 x {@code blocks} queries. */
        MMA("m", "na_fwd_tc_"),
        /** wgmma m64nNk16 (sm_90a), {@code blocks} warpgroups of 64 queries. */
        WGMMA("wg", "na_fwd_wg_");

        private final String tag;
        private final String prefix;

        Family(String tag, String prefix) {
            this.tag = tag;
            this.prefix = prefix;
        }
    }

    /**
     * Time per product of the 2-row-block mma.sync instance relative to the 1-row-block one, by
     * head dim (measured on an H100 over the KernelBench problems, docs/perf.md): the larger the
     * head dim, the more the halved shared-memory traffic per product pays.
     */
    private static double twoRowBlockSpeed(int headDim) {
        return headDim >= 128 ? 0.8 : headDim >= 64 ? 0.92 : 1.05;
    }

    private final Family family;
    private final DType dtype;
    private final int headDim;
    private final int blocks;
    private final TilePlan plan;

    private TensorCoreKernel(Family family, DType dtype, int headDim, int blocks, TilePlan plan) {
        this.family = family;
        this.dtype = dtype;
        this.headDim = headDim;
        this.blocks = blocks;
        this.plan = plan;
    }

    /** Returns whether an instance exists for the head dim. */
    static boolean hasInstance(int headDim) {
        return headDim == 32 || headDim == 64 || headDim == 128;
    }

    /** Returns whether the wgmma family runs this head dim on a device of this capability. */
    static boolean hasWgmma(int headDim, int computeCapability) {
        return computeCapability == HOPPER && (headDim == 64 || headDim == 128);
    }

    /**
     * Returns the instance and plan for the problem (fp16/bf16, a head dim with an instance) on a
     * device of compute capability {@code computeCapability} (10 * major + minor).
     *
     * @throws IllegalStateException when the forced instance cannot run here
     */
    static TensorCoreKernel choose(NaProblem problem, DType dtype, int computeCapability) {
        int d = problem.headDim();
        String forced = System.getProperty(FORCE_PROPERTY);
        if (forced != null) {
            Family family = forced.startsWith(Family.WGMMA.tag) ? Family.WGMMA : Family.MMA;
            int blocks = Integer.parseInt(forced.substring(family.tag.length()));
            boolean runs = family == Family.MMA || hasWgmma(d, computeCapability);
            if (!runs || blocks < 1 || blocks > 2) {
                throw new IllegalStateException(
                        FORCE_PROPERTY
                                + "="
                                + forced
                                + " cannot run head dim "
                                + d
                                + " on compute capability "
                                + computeCapability);
            }
            return of(family, problem, dtype, blocks);
        }
        TensorCoreKernel one = of(Family.MMA, problem, dtype, 1);
        TensorCoreKernel two = of(Family.MMA, problem, dtype, 2);
        return two.plan.cost() * twoRowBlockSpeed(d) < one.plan.cost() ? two : one;
    }

    private static TensorCoreKernel of(Family family, NaProblem problem, DType dtype, int blocks) {
        return new TensorCoreKernel(
                family,
                dtype,
                problem.headDim(),
                blocks,
                TilePlan.choose(problem, 64 * blocks, KV_TILE));
    }

    /** Returns the kernel's C name. */
    String name() {
        String suffix = family == Family.MMA ? "_w4_m" : "_g";
        return family.prefix + dtype.kernelSuffix() + "_d" + headDim + suffix + blocks;
    }

    /** Returns the tile plan. */
    TilePlan plan() {
        return plan;
    }

    /** Returns the threads per block. */
    int threads() {
        return family == Family.MMA ? 128 : 128 * blocks;
    }

    /**
     * Returns the dynamic shared memory ({@code fwd_tc::Config::SMEM}): Q (padded rows), two K/V
     * stages (padded rows, or swizzled and 1 KiB-aligned for wgmma), row windows, key tables.
     */
    int sharedBytes() {
        int bm = 64 * blocks;
        int row = headDim + 8;
        int kvStage = family == Family.MMA ? KV_TILE * row : KV_TILE * headDim;
        int align = family == Family.MMA ? 0 : 1024;
        return align + (bm * row + 4 * kvStage) * 2 + (bm * ROW_INFO_INTS + 2 * KV_TILE) * 4;
    }

    @Override
    public String toString() {
        return name() + " " + plan;
    }
}

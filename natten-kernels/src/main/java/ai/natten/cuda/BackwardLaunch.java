package ai.natten.cuda;

import ai.natten.core.NaProblem;
import ai.natten.cuda.KernelParams.Slot;
import java.util.function.Supplier;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

/**
 * The kernel sequence of one backward call ({@link FusedNeighborhoodAttention#backward}): delta
 * pre-pass, dq, dk/dv, additional-token gradients, bias gradient; workspace allocated on the stream
 * when the caller gives none.
 */
final class BackwardLaunch {

    /** Rows of every mma.sync tile, and of the tiles the warp-specialized kernels walk. */
    static final int TILE = 64;

    /**
     * Ints per row of the kernels' row tables: window bounds and token ({@code ROW_INTS},
     * na_tiles.cuh).
     */
    static final int ROW_INTS = 7;

    /**
     * Shared bytes of the dq kernel's tables: the query rows' table, the key tile's coordinates and
     * offsets.
     */
    private static final int DQ_TABLE_BYTES = 4 * TILE * (ROW_INTS + 2);

    /**
     * Shared bytes of the dk/dv kernels' tables: LSE and delta of two query stages, the key rows'
     * table, the query tile's coordinates and offsets.
     */
    private static final int DKDV_TABLE_BYTES = 4 * TILE * (2 * 2 + ROW_INTS + 2);

    private final DeviceModule module;
    private final NaProblem p;
    private final DType dtype;
    private final BackwardTensors t;
    private final boolean deterministic;
    private final long stream;

    BackwardLaunch(
            DeviceModule module,
            NaProblem p,
            DType dtype,
            BackwardTensors t,
            boolean deterministic,
            long stream) {
        this.module = module;
        this.p = p;
        this.dtype = dtype;
        this.t = t;
        this.deterministic = deterministic;
        this.stream = stream;
    }

    /**
     * The system property that overrides the measured choice of {@link #fusesDq}: {@code always} or
     * {@code never} (in the default mode, where the problem allows it), for benchmarks and tests of
     * either kernel sequence.
     */
    static final String FUSED_DQ_PROPERTY = "natten.cuda.fusedDq";

    /**
     * Largest bias table per head (floats) that the tensor-core dq kernel sums in shared memory
     * before its atomics into the accumulator ({@code bwd_tc::RPB_SHARED_FLOATS}): 16 KB, a small
     * fraction of the kernel's tiles. Larger tables (e.g. 3-D kernels of 17 and more) take one
     * global atomic per (query, key) pair.
     */
    static final int RPB_SHARED_FLOATS = 4096;

    /**
     * Whether the tensor-core dq kernel sums the bias gradient in a fixed order without atomics
     * ({@code na_bwd_dq_rpb_ordered_tc_*}, then {@code na_bwd_drpb_reduce_*}), in both modes: rpb
     * on the tensor-core path and a window (product of the kernel sizes) whose dS fits {@link
     * #RPB_SHARED_FLOATS} for the 64 query rows of a tile, e.g. kernels up to 8x8 in 2-D or 4x4x4
     * in 3-D. Measured faster than the shared-memory atomics of the default mode's other kernel
     * (NAT-Mini attention on an H200, bf16: 1.65 against 1.80 ms forward + backward), so the
     * default takes it too. Larger windows take atomics (default) or the scalar kernel {@code
     * na_bwd_drpb_ordered_*} (deterministic).
     */
    static boolean ordersDrpbInDq(NaProblem p) {
        return p.hasRpb()
                && tensorCoreCandidate(p)
                && TILE * p.maxNeighbours() <= RPB_SHARED_FLOATS;
    }

    /**
     * Floats of the per-CTA bias-gradient tables ({@link #ordersDrpbInDq}): {@code
     * [heads][batch][query-tile CTAs][table]}.
     */
    static long drpbSliceFloats(NaProblem p) {
        return p.heads() * drpbCtasPerHead(p) * p.rpbSizePerHead();
    }

    /** The dq kernel's CTAs per head: batch times the grid's x extent. */
    private static long drpbCtasPerHead(NaProblem p) {
        return p.batch() * dqPlan(p).gridX();
    }

    /**
     * Whether the default mode fuses dq into the key/value kernel (tensor-core path). Never with
     * rpb: the separate dq kernel is the one place that visits each (query, key) pair once, so it
     * sums the bias gradient.
     */
    static boolean fusesDq(NaProblem p, boolean deterministic) {
        if (deterministic || !tensorCoreCandidate(p) || p.hasRpb()) {
            return false;
        }
        String forced = System.getProperty(FUSED_DQ_PROPERTY);
        if (forced != null) {
            return "always".equals(forced);
        }
        return fusionPays(p.headDim());
    }

    /**
     * Whether fusing dq into the key/value kernel (one product and float32 vector reductions per
     * tile pair, instead of a dq pass recomputing S and dP: three products) was measured faster, on
     * an H200, bf16, forward + backward, ms (docs/perf.md, after the streamlined tile loads): at
     * head dim 32 (nat-tiny 0.351 -> 0.331, dinat 0.254 -> 0.237), not at 64 (2d-96-k13: 1.949
     * unfused against 2.001) nor at 128 (2d-128-k31: 5.52 against 5.73, 1d-32k: 36.6 against 37.2,
     * 3d-16x48x80: 61.7 against 73.5, 3d-causal-t: 3.17 against 3.99). float32 alike.
     */
    private static boolean fusionPays(int headDim) {
        return headDim <= 32;
    }

    /**
     * The tile plan of the tensor-core dq kernel (64-token query and key tiles): the forward's,
     * since it walks the same tiles.
     */
    static TilePlan dqPlan(NaProblem p) {
        return TilePlan.choose(p, TILE, TILE);
    }

    /**
     * The tile plan of the mma.sync dk/dv kernels (with or without dq fused): boxes of the plan's
     * query-tile shape over the keys walk the query tiles of their inverse windows, whose halo can
     * favour other shapes than the forward's (docs/perf.md, "Tile plans for the backward").
     */
    static TilePlan keyPlan(NaProblem p) {
        return TilePlan.chooseInverse(p, TILE, TILE);
    }

    /**
     * Whether the backward takes the warp-specialized Hopper kernels for dq and dk/dv ({@code
     * na_backward_ws.cuh}) in the mode: where the warp-specialized forward runs (compute capability
     * 9.0, fp16/bf16, head dim 128; {@link TensorCoreKernel#hasWarpSpecialized}), without rpb and
     * with dq in its own kernel; {@code natten.cuda.warpSpecialized=false} forbids them.
     */
    static boolean warpSpecialized(
            NaProblem p, DType dtype, boolean deterministic, int computeCapability) {
        return TensorCoreKernel.hasWarpSpecialized(p.headDim(), dtype, computeCapability)
                && !"false".equals(System.getProperty(TensorCoreKernel.WARP_SPECIALIZED))
                && tensorCoreCandidate(p)
                && !p.hasRpb()
                && !fusesDq(p, deterministic);
    }

    /** Whether the problem takes the tensor-core kernels (given 16-byte aligned buffers). */
    static boolean tensorCoreCandidate(NaProblem p) {
        return TensorCoreKernel.hasInstance(p.headDim()) && p.additionalTokens() == 0;
    }

    /**
     * K/V stages of the tensor-core dq kernel: one at head dim 128 without rpb in fp16/bf16 (a
     * third less shared memory: three CTAs per SM instead of two, 4-6% faster forward + backward on
     * every head-dim-128 problem measured, docs/perf.md), else two.
     */
    static int dqKvStages(NaProblem p, DType dtype) {
        return p.headDim() == 128 && !p.hasRpb() && dtype.bytes() == 2 ? 1 : 2;
    }

    /**
     * Shared memory of the tensor-core dq kernel: Q, dO, the K/V stages, tables, and with rpb the
     * bias table (default mode, when it fits) or the dS of every row's window ({@link
     * #ordersDrpbInDq}).
     */
    static int dqSharedBytes(NaProblem p, DType dtype, boolean deterministic) {
        int bytes = (2 + 2 * dqKvStages(p, dtype)) * tileBytes(p, dtype) + DQ_TABLE_BYTES;
        if (!p.hasRpb()) {
            return bytes;
        }
        if (ordersDrpbInDq(p)) {
            return bytes + 4 * TILE * p.maxNeighbours();
        }
        int table = p.rpbSizePerHead();
        return !deterministic && table <= RPB_SHARED_FLOATS ? bytes + 4 * table : bytes;
    }

    /**
     * The C name of the tensor-core dq kernel for the problem (bias-adding with rpb; summing the
     * bias gradient in a fixed order where {@link #ordersDrpbInDq}).
     */
    static String dqKernel(NaProblem p, DType dtype) {
        return ordersDrpbInDq(p)
                ? "na_bwd_dq_rpb_ordered_tc_" + dtype.kernelSuffix() + "_d" + p.headDim()
                : tensorCoreKernel("dq", p, dtype);
    }

    /**
     * Shared memory of the fused kernel's own dS^T tile (64 x 64); none at head dim 128, where dS^T
     * takes the dO stage that dV is done with ({@code DS_IN_DO} in {@code bwd_dkdv_tc}).
     */
    private static int fusedDsTileBytes(NaProblem p, DType dtype) {
        return p.headDim() >= 128
                ? 0
                : TILE * TensorCoreKernel.paddedRow(TILE, dtype) * dtype.bytes();
    }

    /** The C name of the reduction of the per-CTA bias-gradient tables. */
    static String drpbReduceKernel(DType dtype) {
        return "na_bwd_drpb_reduce_" + dtype.kernelSuffix();
    }

    /** The C name of the tensor-core dk/dv kernel without fused dq (bias-adding with rpb). */
    static String dkdvKernel(NaProblem p, DType dtype) {
        return tensorCoreKernel("dkdv", p, dtype);
    }

    private static String tensorCoreKernel(String what, NaProblem p, DType dtype) {
        return "na_bwd_"
                + what
                + (p.hasRpb() ? "_rpb" : "")
                + "_tc_"
                + dtype.kernelSuffix()
                + "_d"
                + p.headDim();
    }

    /** One 64-row tile of padded head-dim rows. */
    private static int tileBytes(NaProblem p, DType dtype) {
        return TILE * TensorCoreKernel.paddedRow(p.headDim(), dtype) * dtype.bytes();
    }

    void run() {
        long bytes = FusedNeighborhoodAttention.backwardWorkspaceBytes(p, dtype, deterministic);
        if (t.workspace != 0) {
            launchAll(t.workspace);
            return;
        }
        module.inContext(
                () -> {
                    DevicePointer ws = new DevicePointer();
                    CudaDriver.check(
                            JCudaDriver.cuMemAllocAsync(ws, bytes, CudaDriver.stream(stream)),
                            () -> "cuMemAllocAsync(" + bytes + " bytes) for backward workspace");
                    try {
                        launchAll(ws.address());
                    } finally {
                        CudaDriver.check(
                                JCudaDriver.cuMemFreeAsync(ws, CudaDriver.stream(stream)),
                                () -> "cuMemFreeAsync(backward workspace)");
                    }
                    return null;
                });
    }

    /**
     * Byte offset in the workspace of what follows delta ({@code [rows]} float32): 16-byte aligned,
     * for the fused kernel's vector reductions into the dq accumulator.
     */
    static long accumulatorOffset(NaProblem p) {
        long rows = (long) p.batch() * p.tokens() * p.heads();
        return (4 * rows + 15) & ~15L;
    }

    /**
     * Workspace: delta [rows] float32, then (at {@link #accumulatorOffset}) the dq or the
     * rpb-gradient accumulator, or the per-CTA rpb-gradient tables.
     */
    private void launchAll(long workspace) {
        long rows = (long) p.batch() * p.tokens() * p.heads();
        long delta = workspace;
        long accumulator = workspace + accumulatorOffset(p);
        KernelParams params = base().set(Slot.DELTA, delta);
        launchRows("na_bwd_delta_", rows, params);
        boolean tensorCores =
                tensorCoreCandidate(p)
                        && FusedNeighborhoodAttention.aligned16(
                                t.q, t.k, t.v, t.dOut, t.dq, t.dk, t.dv);
        boolean rpbSlices = tensorCores && ordersDrpbInDq(p);
        boolean rpbAtomics = p.hasRpb() && !deterministic && !rpbSlices;
        if (rpbAtomics) {
            memsetZero(
                    accumulator, (long) p.heads() * p.rpbSizePerHead(), "rpb gradient accumulator");
        } else if (rpbSlices) {
            // CTAs without queries (tiles past a short dilation group) leave their table
            memsetZero(accumulator, drpbSliceFloats(p), "rpb gradient tables");
        }
        KernelParams dqParams =
                base().set(Slot.DELTA, delta)
                        .set(Slot.D_RPB, rpbAtomics || rpbSlices ? accumulator : 0);
        if (tensorCores) {
            boolean warpSpecialized =
                    warpSpecialized(p, dtype, deterministic, module.computeCapability());
            WarpSpecializedBackward wsKeys =
                    warpSpecialized ? WarpSpecializedBackward.dkdv(p, dtype) : null;
            TilePlan plan = warpSpecialized ? wsKeys.plan() : keyPlan(p);
            params.tiles(plan.queryTile(), plan.kvTile(), plan.tileCounts());
            int grid = FusedNeighborhoodAttention.gridSize("tiles", plan.gridX());
            String suffix = dtype.kernelSuffix() + "_d" + p.headDim();
            int shared = 6 * tileBytes(p, dtype); // K, V and two stages of Q and dO
            int[] kvGrid = {grid, p.kvHeads(), p.batch()};
            if (warpSpecialized) {
                WarpSpecializedBackward wsDq = WarpSpecializedBackward.dq(p, dtype);
                launchDq(wsDq.name(), wsDq.threads(), wsDq.sharedBytes(), dqParams, wsDq.plan());
                launch(wsKeys.name(), kvGrid, wsKeys.threads(), wsKeys.sharedBytes(), params, plan);
            } else if (!fusesDq(p, deterministic)) {
                launchDq(
                        dqKernel(p, dtype),
                        128,
                        dqSharedBytes(p, dtype, deterministic),
                        dqParams,
                        dqPlan(p));
                launch(dkdvKernel(p, dtype), kvGrid, 128, shared + DKDV_TABLE_BYTES, params, plan);
            } else {
                long elements = rows * p.headDim();
                memsetZero(accumulator, elements, "dq accumulator");
                int sharedDs = fusedDsTileBytes(p, dtype);
                launch(
                        "na_bwd_dkdv_dq_tc_" + suffix,
                        kvGrid,
                        128,
                        shared + DKDV_TABLE_BYTES + sharedDs,
                        base().set(Slot.DELTA, delta)
                                .set(Slot.D_Q, accumulator)
                                .tiles(plan.queryTile(), plan.kvTile(), plan.tileCounts()),
                        plan);
                convert(t.dq, accumulator, elements, p.scale(), "dq");
            }
        } else {
            launchRows("na_bwd_dq_simple_", rows, dqParams);
            launchRows("na_bwd_dkdv_simple_", (long) p.batch() * p.tokens() * p.kvHeads(), params);
        }
        if (p.additionalTokens() > 0) {
            launchRows(
                    "na_bwd_dadd_simple_",
                    (long) p.batch() * p.additionalTokens() * p.kvHeads(),
                    params);
        }
        if (p.hasRpb()) {
            int entries = p.heads() * p.rpbSizePerHead();
            if (rpbSlices) {
                reduceSlices(accumulator, entries);
            } else if (deterministic) {
                module.launch(
                        "na_bwd_drpb_ordered_" + dtype.kernelSuffix(),
                        new int[] {entries, 1, 1},
                        128,
                        0,
                        stream,
                        base().set(Slot.DELTA, delta).set(Slot.D_RPB, t.dRpb).arguments(),
                        describe(() -> "ordered rpb gradient"));
            } else {
                convert(t.dRpb, accumulator, entries, 1f, "rpb gradient");
            }
        }
    }

    private void memsetZero(long address, long floats, String what) {
        module.inContext(
                () -> {
                    CudaDriver.check(
                            JCudaDriver.cuMemsetD32Async(
                                    CudaDriver.pointer(address),
                                    0,
                                    floats,
                                    CudaDriver.stream(stream)),
                            () -> "cuMemsetD32Async(" + what + ")");
                    return null;
                });
    }

    /** Queues the fixed-order sum of the per-CTA bias-gradient tables into {@code t.dRpb}. */
    private void reduceSlices(long slices, int entries) {
        int ctas = FusedNeighborhoodAttention.gridSize("rpb gradient tables", drpbCtasPerHead(p));
        Pointer args =
                Pointer.to(
                        Pointer.to(new long[] {t.dRpb}),
                        Pointer.to(new long[] {slices}),
                        Pointer.to(new int[] {ctas}),
                        Pointer.to(new int[] {p.rpbSizePerHead()}));
        module.launch(
                drpbReduceKernel(dtype),
                new int[] {entries, 1, 1},
                128,
                0,
                stream,
                args,
                describe(() -> "rpb gradient tables in order"));
    }

    /** Queues {@code out = scale * in}, float32 accumulators to the dtype. */
    private void convert(long out, long in, long n, float scale, String what) {
        Pointer args =
                Pointer.to(
                        Pointer.to(new long[] {out}),
                        Pointer.to(new long[] {in}),
                        Pointer.to(new long[] {n}),
                        Pointer.to(new float[] {scale}));
        int blocks = (int) Math.min(4096, (n + 255) / 256);
        module.launch(
                "na_convert_f32_" + dtype.kernelSuffix(),
                new int[] {blocks, 1, 1},
                256,
                0,
                stream,
                args,
                describe(() -> what));
    }

    /** Parameters with every tensor address of the call (the bias-gradient slot left empty). */
    private KernelParams base() {
        return new KernelParams(p)
                .set(Slot.Q, t.q)
                .set(Slot.K, t.k)
                .set(Slot.V, t.v)
                .set(Slot.OUT, t.out)
                .set(Slot.LSE, t.lse)
                .set(Slot.RPB, t.rpb)
                .set(Slot.ADDITIONAL_K, t.additionalK)
                .set(Slot.ADDITIONAL_V, t.additionalV)
                .set(Slot.D_OUT, t.dOut)
                .set(Slot.D_Q, t.dq)
                .set(Slot.D_K, t.dk)
                .set(Slot.D_V, t.dv)
                .set(Slot.D_ADDITIONAL_K, t.dAdditionalK)
                .set(Slot.D_ADDITIONAL_V, t.dAdditionalV);
    }

    /** Launches a one-warp-per-row kernel over {@code rows} rows. */
    private void launchRows(String prefix, long rows, KernelParams params) {
        int blocks = FusedNeighborhoodAttention.gridSize("rows", (rows + 3) / 4);
        module.launch(
                prefix + dtype.kernelSuffix(),
                new int[] {blocks, 1, 1},
                128,
                0,
                stream,
                params.arguments(),
                describe(() -> "scalar"));
    }

    /**
     * Launches a tensor-core dq kernel: one CTA per query box of the plan, head and batch entry.
     */
    private void launchDq(
            String kernel, int threads, int shared, KernelParams params, TilePlan plan) {
        int[] grid = {
            FusedNeighborhoodAttention.gridSize("tiles", plan.gridX()), p.heads(), p.batch()
        };
        launch(
                kernel,
                grid,
                threads,
                shared,
                params.tiles(plan.queryTile(), plan.kvTile(), plan.tileCounts()),
                plan);
    }

    /** Launches a tensor-core kernel of {@code threads} threads per CTA. */
    private void launch(
            String kernel,
            int[] grid,
            int threads,
            int shared,
            KernelParams params,
            TilePlan plan) {
        module.launch(
                kernel,
                grid,
                threads,
                shared,
                stream,
                params.arguments(),
                describe(() -> kernel + " " + plan));
    }

    private Supplier<String> describe(Supplier<String> variant) {
        return FusedNeighborhoodAttention.describe(
                "backward" + (deterministic ? " (deterministic)" : ""), p, dtype, variant);
    }
}

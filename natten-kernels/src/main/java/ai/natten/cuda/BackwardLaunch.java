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

    private static final int TILE = 64;

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

    void run() {
        long bytes = FusedNeighborhoodAttention.backwardWorkspaceBytes(p, deterministic);
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

    private void launchAll(long workspace) {
        long rows = (long) p.batch() * p.tokens() * p.heads();
        long delta = workspace;
        long rpbAccumulator = p.hasRpb() && !deterministic ? workspace + 4 * rows : 0;
        KernelParams params = base().set(Slot.DELTA, delta);
        launchRows("na_bwd_delta_", rows, params);
        boolean tensorCores =
                dtype != DType.FLOAT32
                        && TensorCoreKernel.hasInstance(p.headDim())
                        && !p.hasRpb()
                        && p.additionalTokens() == 0
                        && FusedNeighborhoodAttention.aligned16(
                                t.q, t.k, t.v, t.dOut, t.dq, t.dk, t.dv);
        if (tensorCores) {
            TilePlan plan = TilePlan.choose(p, TILE, TILE);
            params.tiles(plan.queryTile(), plan.kvTile(), plan.tileCounts());
            int grid = FusedNeighborhoodAttention.gridSize("tiles", plan.gridX());
            String suffix = dtype.kernelSuffix() + "_d" + p.headDim();
            int shared = 768 * (p.headDim() + 8);
            launch(
                    "na_bwd_dq_tc_" + suffix,
                    new int[] {grid, p.heads(), p.batch()},
                    128,
                    shared + 2048,
                    params,
                    plan::toString);
            launch(
                    "na_bwd_dkdv_tc_" + suffix,
                    new int[] {grid, p.kvHeads(), p.batch()},
                    128,
                    shared + 3072,
                    params,
                    plan::toString);
        } else {
            if (rpbAccumulator != 0) {
                int n = p.heads() * p.rpbSizePerHead();
                module.inContext(
                        () -> {
                            CudaDriver.check(
                                    JCudaDriver.cuMemsetD32Async(
                                            CudaDriver.pointer(rpbAccumulator),
                                            0,
                                            n,
                                            CudaDriver.stream(stream)),
                                    () -> "cuMemsetD32Async(rpb gradient accumulator)");
                            return null;
                        });
            }
            launchRows(
                    "na_bwd_dq_simple_",
                    rows,
                    base().set(Slot.DELTA, delta).set(Slot.D_RPB, rpbAccumulator));
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
            if (deterministic) {
                launch(
                        "na_bwd_drpb_ordered_" + dtype.kernelSuffix(),
                        new int[] {entries, 1, 1},
                        128,
                        0,
                        base().set(Slot.DELTA, delta).set(Slot.D_RPB, t.dRpb),
                        () -> "ordered");
            } else {
                Pointer args =
                        Pointer.to(
                                Pointer.to(new long[] {t.dRpb}),
                                Pointer.to(new long[] {rpbAccumulator}),
                                Pointer.to(new long[] {entries}));
                module.launch(
                        "na_convert_f32_" + dtype.kernelSuffix(),
                        new int[] {(entries + 255) / 256, 1, 1},
                        256,
                        0,
                        stream,
                        args,
                        describe(() -> "rpb gradient"));
            }
        }
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
        launch(
                prefix + dtype.kernelSuffix(),
                new int[] {blocks, 1, 1},
                128,
                0,
                params,
                () -> "scalar");
    }

    private void launch(
            String kernel,
            int[] grid,
            int block,
            int shared,
            KernelParams params,
            Supplier<String> variant) {
        module.launch(kernel, grid, block, shared, stream, params.arguments(), describe(variant));
    }

    private Supplier<String> describe(Supplier<String> variant) {
        return FusedNeighborhoodAttention.describe(
                "backward" + (deterministic ? " (deterministic)" : ""), p, dtype, variant);
    }
}

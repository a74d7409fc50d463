package ai.natten.cuda;

import ai.natten.core.NaProblem;
import ai.natten.cuda.KernelParams.Slot;
import java.util.function.Supplier;

/**
 * Fused neighborhood attention on CUDA devices over raw device pointers, without DJL.
 *
 * <p>Tensors are dense row-major device buffers in the heads-last layouts of {@link NaProblem}:
 * {@code q}, {@code out} {@code [B, *spatial, heads, D]}; {@code k}, {@code v} {@code [B, *spatial,
 * kvHeads, D]}; {@code lse} {@code [B, *spatial, heads]} float32 (natural log); {@code rpb} {@code
 * [heads, 2k0-1, ...]}; additional keys/values {@code [B, T, kvHeads, D]}. All but {@code lse} have
 * the element type given by {@link DType}. Optional tensors are passed as address 0. Work is queued
 * on the given stream ({@code CUstream} handle, 0 for the legacy default stream) in the primary
 * context of the device that owns {@code q}; calls return before the kernels finish.
 *
 * <p>Kernels: head dims 32, 64 and 128 (with 16-byte aligned buffers) run on the tensor cores
 * (mma.sync, float32 accumulation and softmax): float16 and bfloat16 directly, float32 as 3xTF32
 * (each operand split into two tf32 parts, three products: float32 accuracy, relative errors near
 * 1e-6). Other head dims run a scalar kernel that is exact in float32 but slower. Head dims must be
 * multiples of 8 up to 256.
 */
public final class FusedNeighborhoodAttention {

    private static final int MAX_HEAD_DIM = 256;

    private FusedNeighborhoodAttention() {}

    /** Returns whether the fused kernels can run here (driver, a GPU of sm_80+, the fatbin). */
    public static boolean isAvailable() {
        return CudaDriver.unavailableReason() == null;
    }

    /** Returns why the fused kernels cannot run here, or null when they can. Never throws. */
    public static String unavailableReason() {
        return CudaDriver.unavailableReason();
    }

    /**
     * Queues the forward pass: {@code out} and {@code lse} from {@code q}, {@code k}, {@code v}.
     *
     * @param problem the validated problem (shapes, windows, scale, GQA, rpb, additional tokens)
     * @param dtype element type of every tensor but {@code lse}
     * @param q query {@code [B, *spatial, heads, D]}
     * @param k key {@code [B, *spatial, kvHeads, D]}
     * @param v value {@code [B, *spatial, kvHeads, D]}
     * @param out output {@code [B, *spatial, heads, D]}, written
     * @param lse log-sum-exp {@code [B, *spatial, heads]} float32, written
     * @param rpb relative positional bias {@code [heads, 2k0-1, ...]}, 0 unless the problem has one
     * @param additionalK additional keys {@code [B, T, kvHeads, D]}, 0 unless T > 0
     * @param additionalV additional values {@code [B, T, kvHeads, D]}, 0 unless T > 0
     * @param stream raw {@code CUstream} handle, 0 for the legacy default stream
     * @throws IllegalArgumentException on an unsupported head dim, missing, superfluous or
     *     misaligned pointers
     * @throws IllegalStateException when the fused kernels are unavailable
     * @throws CudaException when the driver rejects the launch
     */
    public static void forward(
            NaProblem problem,
            DType dtype,
            long q,
            long k,
            long v,
            long out,
            long lse,
            long rpb,
            long additionalK,
            long additionalV,
            long stream) {
        checkProblem(problem, dtype);
        require("q", q, dtype);
        require("k", k, dtype);
        require("v", v, dtype);
        require("out", out, dtype);
        require("lse", lse, DType.FLOAT32);
        optional("rpb", rpb, problem.hasRpb(), dtype);
        optional("additional_k", additionalK, problem.additionalTokens() > 0, dtype);
        optional("additional_v", additionalV, problem.additionalTokens() > 0, dtype);
        DeviceModule module = CudaDriver.module(CudaDriver.deviceOf(q));
        KernelParams params =
                new KernelParams(problem)
                        .set(Slot.Q, q)
                        .set(Slot.K, k)
                        .set(Slot.V, v)
                        .set(Slot.OUT, out)
                        .set(Slot.LSE, lse)
                        .set(Slot.RPB, rpb)
                        .set(Slot.ADDITIONAL_K, additionalK)
                        .set(Slot.ADDITIONAL_V, additionalV);
        boolean tensorCores =
                TensorCoreKernel.hasInstance(problem.headDim())
                        && aligned16(q, k, v, out, additionalK, additionalV);
        if (tensorCores) {
            TensorCoreKernel kernel =
                    TensorCoreKernel.choose(problem, dtype, module.computeCapability());
            params.tiles(
                    kernel.plan().queryTile(), kernel.plan().kvTile(), kernel.plan().tileCounts());
            module.launch(
                    kernel.name(),
                    new int[] {
                        gridSize("query tiles", kernel.plan().gridX()),
                        problem.heads(),
                        problem.batch()
                    },
                    kernel.threads(),
                    kernel.sharedBytes(),
                    stream,
                    params.arguments(),
                    describe("forward", problem, dtype, kernel::toString));
        } else {
            long warps = (long) problem.batch() * problem.tokens() * problem.heads();
            module.launch(
                    "na_fwd_simple_" + dtype.kernelSuffix(),
                    new int[] {gridSize("query rows", (warps + 3) / 4), 1, 1},
                    128,
                    0,
                    stream,
                    params.arguments(),
                    describe("forward", problem, dtype, () -> "scalar"));
        }
    }

    /**
     * Returns the workspace bytes {@link #backward} needs: float32 {@code delta = rowsum(dOut *
     * out)} {@code [B, *spatial, heads]}; in the default (non-deterministic) mode also a float32 dq
     * accumulator {@code [B, *spatial, heads, D]} (16-byte aligned after delta) where dq is fused
     * into the key/value kernel (tensor-core path, no rpb, where measured faster: see {@link
     * #backward}), or a float32 bias-gradient accumulator {@code [heads, *rpb table]} when the
     * problem has rpb (either path). With rpb on the tensor-core path and a window of at most 64
     * positions, in either mode, one float32 bias table per dq CTA instead: {@code [heads, B, query
     * tiles, *rpb table]}, about {@code 4 * table / 64} bytes per query row and head (NAT's 7x7:
     * 169 entries, 2.6 floats per row and head).
     */
    public static long backwardWorkspaceBytes(
            NaProblem problem, DType dtype, boolean deterministic) {
        long rows = (long) problem.batch() * problem.tokens() * problem.heads();
        long bytes = BackwardLaunch.accumulatorOffset(problem);
        if (BackwardLaunch.fusesDq(problem, deterministic)) {
            bytes += 4L * rows * problem.headDim();
        }
        if (BackwardLaunch.ordersDrpbInDq(problem)) {
            // also holds the default mode's accumulator should the buffers take the scalar path
            bytes += 4L * BackwardLaunch.drpbSliceFloats(problem);
        } else if (problem.hasRpb() && !deterministic) {
            bytes += 4L * problem.heads() * problem.rpbSizePerHead();
        }
        return bytes;
    }

    /**
     * Queues the backward pass: the gradients of every input from {@code dOut} and the forward's
     * {@code out} and {@code lse}. Attention weights are recomputed tile by tile, never stored.
     *
     * <p>Modes. Both compute dk and dv (and the additional-token gradients) without atomics: on the
     * tensor-core path (head dims 32/64/128, with or without rpb, no additional tokens) one kernel
     * per key/value tile walks the query tiles of its inverse neighbourhood, accumulating dk and dv
     * in registers. They differ in dq and the bias gradient. The default ({@code deterministic =
     * false}) takes the faster measured option, which may use float32 atomics: without rpb the
     * key/value kernel also adds its share of dq to a float32 accumulator by reductions (5 instead
     * of 7 matrix products per tile pair; on Hopper one vector reduction per 4 elements) at head
     * dim 32; at 64 and 128 the reductions cost more than they save, so dq gets its own pass over
     * query tiles that recomputes the weights (no atomics). With rpb dq always takes that pass, the
     * one kernel that visits each (query, key) pair exactly once, and it also sums the bias
     * gradient. On the tensor-core path with a window (product of the kernel sizes) of at most 64
     * positions (2-D kernels up to 8x8, 3-D up to 4x4x4; NAT and DiNAT's 7x7) it does so without
     * atomics in both modes: each (query, key) pair's dS goes to its query's slot for that window
     * position in shared memory, each CTA sums its rows per table entry in row order and writes its
     * table to its own slice of the workspace, and a small kernel sums the slices of each entry in
     * CTA order (measured faster than atomics, and reproducible). Larger windows sum it per CTA in
     * shared memory (tables of up to 4096 entries per head, else straight to global memory), then
     * into a float32 accumulator by atomics; the scalar path (other head dims, additional tokens)
     * accumulates it by atomics per pair. Atomics make the summation order, so the last bits, vary
     * from run to run.
     *
     * <p>With {@code deterministic = true} dq always takes the separate pass (tensor cores where
     * the head dim has an instance, with rpb too) and the bias gradient is summed in a fixed order:
     * as above for windows of at most 64 positions on the tensor-core path; larger windows and the
     * scalar path take a separate kernel that sums each table entry over every query in a fixed
     * order, recomputing each weight by scalar dot products, much slower than the default. Every
     * gradient is then bitwise reproducible. The default favours speed because training tolerates
     * reordering noise far below bf16 resolution.
     *
     * @param problem the problem of the forward call
     * @param dtype element type of every tensor but {@code lse}
     * @param t the tensors (see {@link BackwardTensors})
     * @param deterministic whether the bias gradient must be bitwise reproducible
     * @param stream raw {@code CUstream} handle, 0 for the legacy default stream
     * @throws IllegalArgumentException on an unsupported head dim, missing, superfluous or
     *     misaligned pointers
     * @throws IllegalStateException when the fused kernels are unavailable
     * @throws CudaException when the driver rejects a launch or allocation
     */
    public static void backward(
            NaProblem problem, DType dtype, BackwardTensors t, boolean deterministic, long stream) {
        checkProblem(problem, dtype);
        if (t == null) {
            throw new IllegalArgumentException("tensors are required");
        }
        require("q", t.q, dtype);
        require("k", t.k, dtype);
        require("v", t.v, dtype);
        require("out", t.out, dtype);
        require("lse", t.lse, DType.FLOAT32);
        require("dOut", t.dOut, dtype);
        require("dq", t.dq, dtype);
        require("dk", t.dk, dtype);
        require("dv", t.dv, dtype);
        optional("rpb", t.rpb, problem.hasRpb(), dtype);
        optional("dRpb", t.dRpb, problem.hasRpb(), dtype);
        boolean additional = problem.additionalTokens() > 0;
        optional("additional_k", t.additionalK, additional, dtype);
        optional("additional_v", t.additionalV, additional, dtype);
        optional("dAdditional_k", t.dAdditionalK, additional, dtype);
        optional("dAdditional_v", t.dAdditionalV, additional, dtype);
        if (t.workspace != 0 && t.workspace % 16 != 0) {
            throw new IllegalArgumentException(
                    "workspace must be 16-byte aligned (the float32 accumulators take vector"
                            + " reductions), got address 0x"
                            + Long.toHexString(t.workspace));
        }
        DeviceModule module = CudaDriver.module(CudaDriver.deviceOf(t.q));
        new BackwardLaunch(module, problem, dtype, t, deterministic, stream).run();
    }

    /**
     * Describes the kernels and tile plans (query and key/value tile boxes, rank padded to 3) the
     * problem takes with 16-byte aligned buffers on device 0, for benchmarks and logs, e.g. {@code
     * "forward na_fwd_tc_bf16_d64_w4_m1 q[1, 8, 8] kv[1, 8, 8]; backward tensor cores q[1, 8, 8]
     * kv[1, 8, 8]"}.
     *
     * @throws IllegalArgumentException for an unsupported problem
     */
    public static String describeKernels(NaProblem problem, DType dtype) {
        checkProblem(problem, dtype);
        int computeCapability = CudaDriver.module(0).computeCapability();
        String forward =
                TensorCoreKernel.hasInstance(problem.headDim())
                        ? TensorCoreKernel.choose(problem, dtype, computeCapability).toString()
                        : "na_fwd_simple_" + dtype.kernelSuffix();
        boolean warpSpecialized =
                BackwardLaunch.warpSpecialized(problem, dtype, false, computeCapability);
        String backward =
                BackwardLaunch.tensorCoreCandidate(problem)
                        ? warpSpecialized
                                ? WarpSpecializedBackward.dq(problem, dtype)
                                        + ", "
                                        + WarpSpecializedBackward.dkdv(problem, dtype)
                                : "tensor cores dq "
                                        + BackwardLaunch.dqPlan(problem)
                                        + ", dk/dv "
                                        + BackwardLaunch.keyPlan(problem)
                        : "scalar";
        return "forward " + forward + "; backward " + backward;
    }

    /**
     * Says why the kernels cannot compute a valid problem, or returns null when they can (every
     * option of {@link NaProblem} is supported; the head dim must be a multiple of 8 up to 256).
     */
    public static String unsupportedReason(NaProblem problem) {
        int d = problem.headDim();
        if (d % 8 != 0 || d > MAX_HEAD_DIM) {
            return "head_dim must be a multiple of 8 up to "
                    + MAX_HEAD_DIM
                    + " for the fused kernels, got "
                    + d;
        }
        return null;
    }

    static void checkProblem(NaProblem problem, DType dtype) {
        if (problem == null) {
            throw new IllegalArgumentException("problem is required");
        }
        if (dtype == null) {
            throw new IllegalArgumentException("dtype is required");
        }
        String unsupported = unsupportedReason(problem);
        if (unsupported != null) {
            throw new IllegalArgumentException(unsupported);
        }
    }

    static void require(String name, long address, DType dtype) {
        if (address == 0) {
            throw new IllegalArgumentException(name + " is required (device address is 0)");
        }
        if (address % dtype.bytes() != 0) {
            throw new IllegalArgumentException(
                    name
                            + " must be aligned to its "
                            + dtype.bytes()
                            + "-byte elements, got address 0x"
                            + Long.toHexString(address));
        }
    }

    static void optional(String name, long address, boolean expected, DType dtype) {
        if (expected) {
            require(name, address, dtype);
        } else if (address != 0) {
            throw new IllegalArgumentException(
                    name + " must be 0: the problem has none (see NaProblem)");
        }
    }

    static boolean aligned16(long... addresses) {
        for (long address : addresses) {
            if (address % 16 != 0) {
                return false;
            }
        }
        return true;
    }

    static int gridSize(String what, long blocks) {
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "problem too large: " + blocks + " blocks of " + what + " exceed the grid");
        }
        return (int) blocks;
    }

    static Supplier<String> describe(
            String pass, NaProblem problem, DType dtype, Supplier<String> variant) {
        return () -> pass + " " + dtype + " " + problem + " (" + variant.get() + ")";
    }
}

package ai.natten.cuda.bench;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import ai.natten.cuda.BackwardTensors;
import ai.natten.cuda.DType;
import ai.natten.cuda.DeviceBuffer;
import ai.natten.cuda.FusedNeighborhoodAttention;
import ai.natten.cuda.GpuTimer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Benchmarks the fused kernels on the problem set of {@code shared/bench/peer_flex.py} (same names,
 * shapes, batch, heads, head dims, bfloat16 by default), plus {@code nat-mini-b64}, the attention
 * of NAT-Mini at 56x56 in a batch of 64 (the DJL benchmark's problem, not in peer_flex.py), and
 * {@code nat-mini-b64-rpb}, the same with the relative positional bias NAT/DiNAT models use: median
 * of CUDA-event timings after warm-up, and effective TFLOP/s counting only the neighborhood work,
 * {@code 4 * B * H * N * prod(k) * D} forward ({@code 3.5x} that for forward + backward).
 *
 * <p>Usage: {@code KernelBench [--backward] [--quick] [--runs N] [--variants] [--scalar] [--plans
 * N] [--dtype float32|float16|bfloat16] [--problems NAME,...]}. {@code --backward} adds forward +
 * backward timings (default, non-deterministic mode; workspace preallocated). Prints one JSON line
 * per problem, then a table. {@code --variants} also times each tensor-core forward instance (64-
 * and 128-query tiles of the chosen family, forward and backward, property {@code
 * natten.cuda.rowBlocks}; the warp-specialized forward where it runs, and no warp-specialized
 * kernel, {@code natten.cuda.warpSpecialized=true|false}) besides the automatic choice, and the
 * backward with dq fused into the key/value kernel and with a separate dq kernel, whatever the
 * measured choice (property {@code natten.cuda.fusedDq=always|never}); {@code --scalar} also times
 * the scalar kernels (property {@code natten.cuda.tensorCores=false}). {@code --plans N} also times
 * the tile plans of ranks 1 to N-1 in the cost model's order (property {@code
 * natten.cuda.planRank}), to check the model against the device. {@code --problems} keeps the named
 * problems only. Each JSON line names the kernels and tile plans used.
 */
public final class KernelBench {

    /** One benchmark problem, as in peer_flex.py. */
    record Case(
            String name,
            int batch,
            int heads,
            int[] shape,
            int[] kernel,
            int[] dilation,
            boolean[] causal,
            int headDim,
            boolean rpb) {

        NaProblem problem() {
            return NaProblem.builder()
                    .setOptions(
                            NaOptions.builder()
                                    .setKernelSize(kernel)
                                    .optDilation(dilation)
                                    .optCausal(causal)
                                    .build())
                    .setBatch(batch)
                    .setSpatialSize(shape)
                    .setHeads(heads)
                    .setHeadDim(headDim)
                    .optRpb(rpb)
                    .build();
        }

        double forwardFlops() {
            double n = 4.0 * batch * heads * headDim;
            for (int axis = 0; axis < shape.length; axis++) {
                n *= (double) shape[axis] * kernel[axis];
            }
            return n;
        }

        /** Returns the same problem with a relative positional bias, under another name. */
        Case withRpb(String rpbName) {
            return new Case(rpbName, batch, heads, shape, kernel, dilation, causal, headDim, true);
        }
    }

    /** NAT-Mini's attention at 56x56 in a batch of 64 (the DJL benchmark's problem). */
    private static final Case NAT_MINI =
            new Case(
                    "nat-mini-b64",
                    64,
                    2,
                    ints(56, 56),
                    ints(7, 7),
                    ints(1, 1),
                    bools(false, false),
                    32,
                    false);

    static final List<Case> CASES =
            List.of(
                    new Case(
                            "nat-tiny-s1",
                            32,
                            2,
                            ints(56, 56),
                            ints(7, 7),
                            ints(1, 1),
                            bools(false, false),
                            32,
                            false),
                    new Case(
                            "dinat-s1-dil",
                            32,
                            2,
                            ints(56, 56),
                            ints(7, 7),
                            ints(8, 8),
                            bools(false, false),
                            32,
                            false),
                    new Case(
                            "2d-128-k31",
                            1,
                            24,
                            ints(128, 128),
                            ints(31, 31),
                            ints(1, 1),
                            bools(false, false),
                            128,
                            false),
                    new Case(
                            "2d-96-k13-h64",
                            4,
                            16,
                            ints(96, 96),
                            ints(13, 13),
                            ints(1, 1),
                            bools(false, false),
                            64,
                            false),
                    new Case(
                            "1d-32k-k4095",
                            2,
                            16,
                            ints(32768),
                            ints(4095),
                            ints(1),
                            bools(false),
                            128,
                            false),
                    new Case(
                            "3d-16x48x80-k(7,15,23)",
                            1,
                            24,
                            ints(16, 48, 80),
                            ints(7, 15, 23),
                            ints(1, 1, 1),
                            bools(false, false, false),
                            128,
                            false),
                    new Case(
                            "3d-causal-t",
                            1,
                            16,
                            ints(16, 32, 32),
                            ints(5, 9, 9),
                            ints(1, 1, 1),
                            bools(true, false, false),
                            128,
                            false),
                    NAT_MINI,
                    NAT_MINI.withRpb("nat-mini-b64-rpb"));

    private KernelBench() {}

    /** Runs the benchmark; see the class comment for arguments. */
    public static void main(String[] args) {
        List<String> argList = Arrays.asList(args);
        boolean quick = argList.contains("--quick");
        boolean variantsWanted = argList.contains("--variants");
        boolean backward = argList.contains("--backward");
        boolean scalar = argList.contains("--scalar");
        int runs = Integer.parseInt(option(argList, "--runs", "30"));
        int plans = Integer.parseInt(option(argList, "--plans", "1"));
        DType dtype =
                DType.valueOf(option(argList, "--dtype", "bfloat16").toUpperCase(Locale.ROOT));
        List<String> only = problemNames(option(argList, "--problems", ""));
        if (!FusedNeighborhoodAttention.isAvailable()) {
            System.out.println(
                    "fused kernels unavailable: " + FusedNeighborhoodAttention.unavailableReason());
            System.exit(2);
        }
        List<String> table = new ArrayList<>();
        table.add(
                String.format(
                        Locale.ROOT,
                        "%-27s %10s %10s %12s %12s %12s",
                        "problem",
                        "fwd ms",
                        "fwd TF/s",
                        "fwd+bwd ms",
                        "fwd+bwd TF/s",
                        "determ. ms"));
        for (Case c : quick ? CASES.subList(0, 2) : CASES) {
            if (!only.contains("") && !only.contains(c.name())) {
                continue;
            }
            for (Variant variant : variants(variantsWanted, scalar, plans)) {
                variant.apply();
                String kernels;
                try {
                    kernels = FusedNeighborhoodAttention.describeKernels(c.problem(), dtype);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    continue; // fewer plans than asked for, or no such instance here
                }
                String name = c.name() + variant.suffix();
                double[] ms = millis(c, dtype, runs, backward && variant.timesBackward());
                double tflops = c.forwardFlops() / ms[0] / 1e9;
                double bwdTflops = 3.5 * c.forwardFlops() / ms[1] / 1e9;
                System.out.printf(
                        Locale.ROOT,
                        "{\"name\": \"%s\", \"dtype\": \"%s\", \"fwd_ms\": %.4f,"
                                + " \"fwd_tflops\": %.2f, \"fwdbwd_ms\": %.4f,"
                                + " \"fwdbwd_tflops\": %.2f, \"fwdbwd_deterministic_ms\": %.4f,"
                                + " \"kernels\": \"%s\"}%n",
                        name,
                        dtype,
                        ms[0],
                        tflops,
                        ms[1],
                        bwdTflops,
                        ms[2],
                        kernels);
                table.add(
                        String.format(
                                Locale.ROOT,
                                "%-27s %10.4f %10.2f %12.4f %12.2f %12.4f",
                                name,
                                ms[0],
                                tflops,
                                ms[1],
                                bwdTflops,
                                ms[2]));
            }
        }
        Variant.clear();
        System.out.println("dtype " + dtype);
        table.forEach(System.out::println);
    }

    /**
     * One way to run a problem: the automatic choice, a tile plan of another rank, a forced forward
     * instance or the scalar kernels, set through the kernels' system properties.
     *
     * @param suffix appended to the problem's name
     * @param property the property to set (null for none)
     * @param value its value
     */
    private record Variant(String suffix, String property, String value) {
        private static final List<String> PROPERTIES =
                List.of(
                        "natten.cuda.rowBlocks",
                        "natten.cuda.warpSpecialized",
                        "natten.cuda.tensorCores",
                        "natten.cuda.planRank",
                        "natten.cuda.fusedDq");

        static void clear() {
            PROPERTIES.forEach(System::clearProperty);
        }

        void apply() {
            clear();
            if (property != null) {
                System.setProperty(property, value);
            }
        }

        /**
         * Variants forcing the warp-specialized forward are timed forward only (the backward is the
         * default's); the tile size (natten.cuda.rowBlocks) applies to the warp-specialized
         * backward too.
         */
        boolean timesBackward() {
            return !("natten.cuda.warpSpecialized".equals(property) && "true".equals(value));
        }
    }

    private static List<Variant> variants(boolean instances, boolean scalar, int plans) {
        List<Variant> result = new ArrayList<>(List.of(new Variant("", null, null)));
        for (int rank = 1; rank < plans; rank++) {
            result.add(new Variant(" plan " + rank, "natten.cuda.planRank", "" + rank));
        }
        if (instances) {
            result.add(new Variant(" m1", "natten.cuda.rowBlocks", "1"));
            result.add(new Variant(" m2", "natten.cuda.rowBlocks", "2"));
            result.add(new Variant(" ws", "natten.cuda.warpSpecialized", "true"));
            result.add(new Variant(" no ws", "natten.cuda.warpSpecialized", "false"));
            result.add(new Variant(" fused dq", "natten.cuda.fusedDq", "always"));
            result.add(new Variant(" unfused dq", "natten.cuda.fusedDq", "never"));
        }
        if (scalar) {
            result.add(new Variant(" scalar", "natten.cuda.tensorCores", "false"));
        }
        return result;
    }

    /**
     * Splits a {@code --problems} list at the commas outside parentheses, so that names such as
     * {@code 3d-16x48x80-k(7,15,23)} stay whole.
     */
    static List<String> problemNames(String list) {
        return Arrays.asList(list.split(",(?![^(]*\\))"));
    }

    /** Returns the value after {@code name} in the arguments, or {@code fallback}. */
    private static String option(List<String> args, String name, String fallback) {
        int at = args.indexOf(name);
        return at >= 0 ? args.get(at + 1) : fallback;
    }

    /**
     * Returns {forward ms, forward + backward ms, the same in deterministic mode} (NaN unless
     * timed).
     */
    private static double[] millis(Case c, DType dtype, int runs, boolean backward) {
        NaProblem p = c.problem();
        long qCount = (long) p.batch() * p.tokens() * p.heads() * p.headDim();
        long lseCount = qCount / p.headDim();
        long qBytes = qCount * dtype.bytes();
        long rpbCount = p.hasRpb() ? (long) p.heads() * p.rpbSizePerHead() : 0;
        try (DeviceBuffer rpb = DeviceBuffer.allocate(0, rpbCount * dtype.bytes());
                DeviceBuffer drpb =
                        DeviceBuffer.allocate(0, backward ? rpbCount * dtype.bytes() : 0);
                DeviceBuffer q = DeviceBuffer.allocate(0, qBytes);
                DeviceBuffer k = DeviceBuffer.allocate(0, qBytes);
                DeviceBuffer v = DeviceBuffer.allocate(0, qBytes);
                DeviceBuffer out = DeviceBuffer.allocate(0, qBytes);
                DeviceBuffer lse = DeviceBuffer.allocate(0, lseCount * 4);
                DeviceBuffer dout = DeviceBuffer.allocate(0, backward ? qBytes : 0);
                DeviceBuffer grads = DeviceBuffer.allocate(0, backward ? 3 * qBytes : 0);
                DeviceBuffer workspace =
                        DeviceBuffer.allocate(
                                0,
                                backward
                                        ? Math.max( // one workspace for both modes
                                                FusedNeighborhoodAttention.backwardWorkspaceBytes(
                                                        p, dtype, false),
                                                FusedNeighborhoodAttention.backwardWorkspaceBytes(
                                                        p, dtype, true))
                                        : 0)) {
            q.fillNormal(qCount, dtype, 1, 1f, 0);
            k.fillNormal(qCount, dtype, 2, 1f, 0);
            v.fillNormal(qCount, dtype, 3, 1f, 0);
            if (p.hasRpb()) {
                rpb.fillNormal(rpbCount, dtype, 5, 1f, 0);
            }
            Runnable forward =
                    () ->
                            FusedNeighborhoodAttention.forward(
                                    p,
                                    dtype,
                                    q.address(),
                                    k.address(),
                                    v.address(),
                                    out.address(),
                                    lse.address(),
                                    p.hasRpb() ? rpb.address() : 0,
                                    0,
                                    0,
                                    0);
            double fwd = GpuTimer.medianMillis(0, 0, 20, runs, forward);
            if (!backward) {
                return new double[] {fwd, Double.NaN, Double.NaN};
            }
            dout.fillNormal(qCount, dtype, 4, 1f, 0);
            BackwardTensors t =
                    BackwardTensors.builder()
                            .setInputs(q.address(), k.address(), v.address())
                            .setForward(out.address(), lse.address())
                            .setOutputGradient(dout.address())
                            .setGradients(
                                    grads.address(),
                                    grads.address() + qBytes,
                                    grads.address() + 2 * qBytes)
                            .optWorkspace(workspace.address())
                            .optRpb(p.hasRpb() ? rpb.address() : 0, p.hasRpb() ? drpb.address() : 0)
                            .build();
            Runnable both =
                    () -> {
                        forward.run();
                        FusedNeighborhoodAttention.backward(p, dtype, t, false, 0);
                    };
            Runnable bothDeterministic =
                    () -> {
                        forward.run();
                        FusedNeighborhoodAttention.backward(p, dtype, t, true, 0);
                    };
            return new double[] {
                fwd,
                GpuTimer.medianMillis(0, 0, 5, runs, both),
                GpuTimer.medianMillis(0, 0, 5, runs, bothDeterministic)
            };
        }
    }

    private static int[] ints(int... values) {
        return values;
    }

    private static boolean[] bools(boolean... values) {
        return values;
    }
}

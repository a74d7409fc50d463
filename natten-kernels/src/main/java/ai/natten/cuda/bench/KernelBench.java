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
 * shapes, batch, heads, head dims, bfloat16): median of CUDA-event timings after warm-up, and
 * effective TFLOP/s counting only the neighborhood work, {@code 4 * B * H * N * prod(k) * D}
 * forward ({@code 3.5x} that for forward + backward).
 *
 * <p>Usage: {@code KernelBench [--backward] [--quick] [--runs N] [--variants]}. {@code --backward}
 * adds forward + backward timings (default, non-deterministic mode; workspace preallocated). Prints
 * one JSON line per problem, then a table. {@code --variants} also times each tensor-core forward
 * instance (mma.sync {@code m1}, {@code m2}; wgmma {@code wg1}, {@code wg2} on Hopper: property
 * {@code natten.cuda.forwardInstance}) besides the automatic choice; an instance that cannot run
 * the problem here is reported and skipped.
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
            int headDim) {

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
                    .build();
        }

        double forwardFlops() {
            double n = 4.0 * batch * heads * headDim;
            for (int axis = 0; axis < shape.length; axis++) {
                n *= (double) shape[axis] * kernel[axis];
            }
            return n;
        }
    }

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
                            32),
                    new Case(
                            "dinat-s1-dil",
                            32,
                            2,
                            ints(56, 56),
                            ints(7, 7),
                            ints(8, 8),
                            bools(false, false),
                            32),
                    new Case(
                            "2d-128-k31",
                            1,
                            24,
                            ints(128, 128),
                            ints(31, 31),
                            ints(1, 1),
                            bools(false, false),
                            128),
                    new Case(
                            "2d-96-k13-h64",
                            4,
                            16,
                            ints(96, 96),
                            ints(13, 13),
                            ints(1, 1),
                            bools(false, false),
                            64),
                    new Case(
                            "1d-32k-k4095",
                            2,
                            16,
                            ints(32768),
                            ints(4095),
                            ints(1),
                            bools(false),
                            128),
                    new Case(
                            "3d-16x48x80-k(7,15,23)",
                            1,
                            24,
                            ints(16, 48, 80),
                            ints(7, 15, 23),
                            ints(1, 1, 1),
                            bools(false, false, false),
                            128),
                    new Case(
                            "3d-causal-t",
                            1,
                            16,
                            ints(16, 32, 32),
                            ints(5, 9, 9),
                            ints(1, 1, 1),
                            bools(true, false, false),
                            128));

    /** The system property that forces a forward instance (see TensorCoreKernel). */
    private static final String FORCE_PROPERTY = "natten.cuda.forwardInstance";

    private KernelBench() {}

    /** Runs the benchmark; see the class comment for arguments. */
    public static void main(String[] args) {
        List<String> argList = Arrays.asList(args);
        boolean quick = argList.contains("--quick");
        boolean variants = argList.contains("--variants");
        boolean backward = argList.contains("--backward");
        int runs = 30;
        int at = argList.indexOf("--runs");
        if (at >= 0) {
            runs = Integer.parseInt(argList.get(at + 1));
        }
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
        List<String> instances =
                variants ? List.of("auto", "m1", "m2", "wg1", "wg2") : List.of("auto");
        for (Case c : quick ? CASES.subList(0, 2) : CASES) {
            for (String variant : instances) {
                if (variant.equals("auto")) {
                    System.clearProperty(FORCE_PROPERTY);
                } else {
                    System.setProperty(FORCE_PROPERTY, variant);
                }
                String name = variant.equals("auto") ? c.name() : c.name() + " " + variant;
                double[] ms;
                try {
                    ms = millis(c, runs, backward && variant.equals("auto"));
                } catch (IllegalStateException e) {
                    System.out.println(name + ": skipped (" + e.getMessage() + ")");
                    continue;
                }
                double tflops = c.forwardFlops() / ms[0] / 1e9;
                double bwdTflops = 3.5 * c.forwardFlops() / ms[1] / 1e9;
                System.out.printf(
                        Locale.ROOT,
                        "{\"name\": \"%s\", \"fwd_ms\": %.4f, \"fwd_tflops\": %.2f,"
                                + " \"fwdbwd_ms\": %.4f, \"fwdbwd_tflops\": %.2f,"
                                + " \"fwdbwd_deterministic_ms\": %.4f}%n",
                        name,
                        ms[0],
                        tflops,
                        ms[1],
                        bwdTflops,
                        ms[2]);
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
        System.clearProperty(FORCE_PROPERTY);
        table.forEach(System.out::println);
    }

    /**
     * Returns {forward ms, forward + backward ms, the same in deterministic mode} (NaN unless
     * timed).
     */
    private static double[] millis(Case c, int runs, boolean backward) {
        NaProblem p = c.problem();
        DType dtype = DType.BFLOAT16;
        long qCount = (long) p.batch() * p.tokens() * p.heads() * p.headDim();
        long lseCount = qCount / p.headDim();
        try (DeviceBuffer q = DeviceBuffer.allocate(0, qCount * 2);
                DeviceBuffer k = DeviceBuffer.allocate(0, qCount * 2);
                DeviceBuffer v = DeviceBuffer.allocate(0, qCount * 2);
                DeviceBuffer out = DeviceBuffer.allocate(0, qCount * 2);
                DeviceBuffer lse = DeviceBuffer.allocate(0, lseCount * 4);
                DeviceBuffer dout = DeviceBuffer.allocate(0, backward ? qCount * 2 : 0);
                DeviceBuffer grads = DeviceBuffer.allocate(0, backward ? 3 * qCount * 2 : 0);
                DeviceBuffer workspace =
                        DeviceBuffer.allocate(
                                0,
                                backward
                                        ? FusedNeighborhoodAttention.backwardWorkspaceBytes(
                                                p, dtype, false)
                                        : 0)) {
            q.fillNormal(qCount, dtype, 1, 1f, 0);
            k.fillNormal(qCount, dtype, 2, 1f, 0);
            v.fillNormal(qCount, dtype, 3, 1f, 0);
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
                                    0,
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
                                    grads.address() + qCount * 2,
                                    grads.address() + 2 * qCount * 2)
                            .optWorkspace(workspace.address())
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

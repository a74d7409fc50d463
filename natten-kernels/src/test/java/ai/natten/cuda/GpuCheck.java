package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.natten.core.NaProblem;
import ai.natten.reference.NaReference;
import ai.natten.reference.RandomProblems;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;

/** Runs the fused kernels on fresh random inputs and compares them with {@link NaReference}. */
final class GpuCheck {

    private GpuCheck() {}

    /** Skips the calling test unless the fused kernels can run here. */
    static void assumeGpu() {
        Assumptions.assumeTrue(
                FusedNeighborhoodAttention.isAvailable(),
                () ->
                        "fused CUDA kernels unavailable: "
                                + FusedNeighborhoodAttention.unavailableReason());
    }

    /** The relative tolerance of a forward output in {@code dtype}. */
    static double forwardTolerance(DType dtype) {
        switch (dtype) {
            case FLOAT16:
                return 2e-3;
            case BFLOAT16:
                return 1e-2;
            default:
                return 1e-5;
        }
    }

    /** Returns a copy of {@code p} with head dim {@code d}. */
    static NaProblem withHeadDim(NaProblem p, int d) {
        return NaProblem.builder()
                .setOptions(p.options())
                .setBatch(p.batch())
                .setSpatialSize(p.spatialSizes())
                .setHeads(p.heads())
                .optKvHeads(p.kvHeads())
                .setHeadDim(d)
                .optRpb(p.hasRpb())
                .optAdditionalTokens(p.additionalTokens())
                .build();
    }

    /** Random inputs of {@code p}, already rounded to {@code dtype} so both sides see the same. */
    static NaReference.Inputs inputs(NaProblem p, DType dtype, Random random) {
        NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
        return new NaReference.Inputs(
                round(in.q(), dtype),
                round(in.k(), dtype),
                round(in.v(), dtype),
                round(in.rpb(), dtype),
                round(in.additionalK(), dtype),
                round(in.additionalV(), dtype));
    }

    static float[] round(float[] values, DType dtype) {
        if (values == null) {
            return null;
        }
        float[] result = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = dtype.round(values[i]);
        }
        return result;
    }

    /** Runs the fused forward on poisoned outputs and returns {out, lse}. */
    static float[][] forward(NaProblem p, DType dtype, NaReference.Inputs in) {
        int outCount = in.q().length;
        int lseCount = outCount / p.headDim();
        try (DeviceInputs inputs = new DeviceInputs(in, dtype);
                DeviceBuffer out = poisoned(outCount, dtype);
                DeviceBuffer lse = poisoned(lseCount, DType.FLOAT32)) {
            inputs.forward(p, out, lse);
            return new float[][] {
                out.toFloats(outCount, dtype), lse.toFloats(lseCount, DType.FLOAT32)
            };
        }
    }

    /** The reference inputs on the GPU in one dtype (absent optional ones stay null). */
    private static final class DeviceInputs implements AutoCloseable {
        private final DType dtype;
        private final DeviceBuffer[] buffers = new DeviceBuffer[6];

        DeviceInputs(NaReference.Inputs in, DType dtype) {
            this.dtype = dtype;
            float[][] values = {
                in.q(), in.k(), in.v(), in.rpb(), in.additionalK(), in.additionalV()
            };
            try {
                for (int i = 0; i < values.length; i++) {
                    buffers[i] = values[i] == null ? null : DeviceBuffer.of(0, values[i], dtype);
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        long q() {
            return buffers[0].address();
        }

        long k() {
            return buffers[1].address();
        }

        long v() {
            return buffers[2].address();
        }

        long rpb() {
            return address(buffers[3]);
        }

        long additionalK() {
            return address(buffers[4]);
        }

        long additionalV() {
            return address(buffers[5]);
        }

        void forward(NaProblem p, DeviceBuffer out, DeviceBuffer lse) {
            FusedNeighborhoodAttention.forward(
                    p,
                    dtype,
                    q(),
                    k(),
                    v(),
                    out.address(),
                    lse.address(),
                    rpb(),
                    additionalK(),
                    additionalV(),
                    0);
        }

        @Override
        public void close() {
            for (DeviceBuffer buffer : buffers) {
                if (buffer != null) {
                    buffer.close();
                }
            }
        }
    }

    private static long address(DeviceBuffer buffer) {
        return buffer == null ? 0 : buffer.address();
    }

    /** Checks the fused forward of {@code p} in {@code dtype} against the reference. */
    static void checkForward(NaProblem p, DType dtype, Random random) {
        NaReference.Inputs in = inputs(p, dtype, random);
        NaReference.Forward want = NaReference.forward(p, in);
        float[][] got = forward(p, dtype, in);
        double tol = forwardTolerance(dtype);
        assertClose(want.out(), got[0], tol, "out " + dtype + " " + p);
        assertClose(want.lse(), got[1], tol, "lse " + dtype + " " + p);
    }

    /** The relative tolerance of a gradient in {@code dtype}. */
    static double backwardTolerance(DType dtype) {
        return dtype == DType.FLOAT32 ? 1e-4 : 2e-2;
    }

    /**
     * Runs the fused forward, then the fused backward on poisoned gradients, and returns {dq, dk,
     * dv, drpb, dAdditionalK, dAdditionalV} (null where the problem has none).
     */
    static float[][] backward(
            NaProblem p, DType dtype, NaReference.Inputs in, float[] dOut, boolean deterministic) {
        int qCount = in.q().length;
        int kvCount = in.k().length;
        try (DeviceInputs inputs = new DeviceInputs(in, dtype);
                DeviceBuffer out = DeviceBuffer.allocate(0, (long) qCount * dtype.bytes());
                DeviceBuffer lse = DeviceBuffer.allocate(0, (long) qCount / p.headDim() * 4);
                DeviceBuffer dout = DeviceBuffer.of(0, dOut, dtype);
                DeviceBuffer dq = poisoned(qCount, dtype);
                DeviceBuffer dk = poisoned(kvCount, dtype);
                DeviceBuffer dv = poisoned(kvCount, dtype);
                DeviceBuffer drpb = in.rpb() == null ? null : poisoned(in.rpb().length, dtype);
                DeviceBuffer dak =
                        in.additionalK() == null ? null : poisoned(in.additionalK().length, dtype);
                DeviceBuffer dav =
                        in.additionalV() == null
                                ? null
                                : poisoned(in.additionalV().length, dtype)) {
            inputs.forward(p, out, lse);
            BackwardTensors t =
                    BackwardTensors.builder()
                            .setInputs(inputs.q(), inputs.k(), inputs.v())
                            .setForward(out.address(), lse.address())
                            .setOutputGradient(dout.address())
                            .setGradients(dq.address(), dk.address(), dv.address())
                            .optRpb(inputs.rpb(), address(drpb))
                            .optAdditional(
                                    inputs.additionalK(),
                                    inputs.additionalV(),
                                    address(dak),
                                    address(dav))
                            .build();
            FusedNeighborhoodAttention.backward(p, dtype, t, deterministic, 0);
            return new float[][] {
                dq.toFloats(qCount, dtype),
                dk.toFloats(kvCount, dtype),
                dv.toFloats(kvCount, dtype),
                drpb == null ? null : drpb.toFloats(in.rpb().length, dtype),
                dak == null ? null : dak.toFloats(in.additionalK().length, dtype),
                dav == null ? null : dav.toFloats(in.additionalV().length, dtype)
            };
        }
    }

    private static DeviceBuffer poisoned(int count, DType dtype) {
        DeviceBuffer buffer = DeviceBuffer.allocate(0, (long) count * dtype.bytes());
        buffer.fill((byte) 0xFF);
        return buffer;
    }

    /** Checks every fused gradient of {@code p} in {@code dtype} against the reference. */
    static void checkBackward(NaProblem p, DType dtype, boolean deterministic, Random random) {
        NaReference.Inputs in = inputs(p, dtype, random);
        float[] dOut = round(RandomProblems.normal(random, in.q().length, 1.0), dtype);
        NaReference.Gradients want = NaReference.backward(p, in, dOut);
        float[][] got = backward(p, dtype, in, dOut, deterministic);
        double tol = backwardTolerance(dtype);
        String what = dtype + (deterministic ? " deterministic " : " ") + p;
        assertClose(want.dq(), got[0], tol, "dq " + what);
        assertClose(want.dk(), got[1], tol, "dk " + what);
        assertClose(want.dv(), got[2], tol, "dv " + what);
        if (want.drpb() != null) {
            assertClose(want.drpb(), got[3], tol, "drpb " + what);
        }
        if (want.dAdditionalK() != null) {
            assertClose(want.dAdditionalK(), got[4], tol, "dAdditionalK " + what);
            assertClose(want.dAdditionalV(), got[5], tol, "dAdditionalV " + what);
        }
    }

    /**
     * Asserts ||got - want|| / ||want|| < tol; NaN (an unwritten element) always fails. Prints the
     * error, so that the GPU test log records the measured accuracy of every check.
     */
    static void assertClose(float[] want, float[] got, double tol, String what) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) got[i] - want[i];
            diff += d * d;
            norm += (double) want[i] * want[i];
        }
        double err = Math.sqrt(diff / Math.max(norm, 1e-30));
        System.out.printf(Locale.ROOT, "relative error %.3e: %s%n", err, what);
        assertTrue(err < tol, () -> what + ": relative error " + err + " >= " + tol);
    }
}

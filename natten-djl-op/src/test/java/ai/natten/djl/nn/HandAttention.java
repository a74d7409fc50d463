package ai.natten.djl.nn;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import ai.natten.reference.NaReference;

/**
 * The neighborhood-attention layer written out by hand in plain Java from given parameter values:
 * zero-padding, qkv projection, {@link NaReference}, crop, output projection; and its exact
 * backward by the chain rule. Independent of DJL.
 */
final class HandAttention {

    private final int[] spatial;
    private final int[] padded;
    private final int batch;
    private final int channels;
    private final NaProblem problem;
    private final float[] qkvWeight; // [3C, C]
    private final float[] qkvBias; // [3C] or null
    private final float[] projWeight; // [C, C]
    private final float[] projBias; // [C]
    private final float[] rpb; // [heads, 2k-1, ...] or null

    private float[] paddedInput;
    private float[] attended;
    private NaReference.Inputs attentionInputs;

    HandAttention(
            int batch,
            int[] spatial,
            int[] padded,
            int heads,
            int channels,
            NaOptions options,
            float[] qkvWeight,
            float[] qkvBias,
            float[] projWeight,
            float[] projBias,
            float[] rpb) {
        this.batch = batch;
        this.spatial = spatial;
        this.padded = padded;
        this.channels = channels;
        this.problem =
                NaProblem.builder()
                        .setOptions(options)
                        .setBatch(batch)
                        .setSpatialSize(padded)
                        .setHeads(heads)
                        .setHeadDim(channels / heads)
                        .optRpb(rpb != null)
                        .build();
        this.qkvWeight = qkvWeight;
        this.qkvBias = qkvBias;
        this.projWeight = projWeight;
        this.projBias = projBias;
        this.rpb = rpb;
    }

    /** Forward of x {@code [B, *spatial, C]}; returns {@code [B, *spatial, C]}. */
    float[] forward(float[] x) {
        int n = problem.tokens();
        int c = channels;
        paddedInput = new float[batch * n * c];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < tokens(spatial); t++) {
                int pt = paddedToken(t);
                System.arraycopy(
                        x, (b * tokens(spatial) + t) * c, paddedInput, (b * n + pt) * c, c);
            }
        }
        float[] qkv = linear(paddedInput, batch * n, c, 3 * c, qkvWeight, qkvBias);
        float[] q = new float[batch * n * c];
        float[] k = new float[batch * n * c];
        float[] v = new float[batch * n * c];
        for (int row = 0; row < batch * n; row++) {
            System.arraycopy(qkv, row * 3 * c, q, row * c, c);
            System.arraycopy(qkv, row * 3 * c + c, k, row * c, c);
            System.arraycopy(qkv, row * 3 * c + 2 * c, v, row * c, c);
        }
        attentionInputs = new NaReference.Inputs(q, k, v, rpb, null, null);
        attended = NaReference.forward(problem, attentionInputs).out();
        float[] out = linear(crop(attended), batch * tokens(spatial), c, c, projWeight, projBias);
        return out;
    }

    /** Gradients of {@code sum(forward(x) * dOut)}, after {@link #forward}. */
    Grads backward(float[] dOut) {
        int rows = batch * tokens(spatial);
        int c = channels;
        float[] cropped = crop(attended);
        float[] dProjWeight = outerSum(dOut, cropped, rows, c, c);
        float[] dProjBias = columnSum(dOut, rows, c);
        float[] dCropped = new float[rows * c];
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < c; i++) {
                double sum = 0;
                for (int o = 0; o < c; o++) {
                    sum += (double) dOut[row * c + o] * projWeight[o * c + i];
                }
                dCropped[row * c + i] = (float) sum;
            }
        }
        int n = problem.tokens();
        float[] dAttended = new float[batch * n * c];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < tokens(spatial); t++) {
                System.arraycopy(
                        dCropped,
                        (b * tokens(spatial) + t) * c,
                        dAttended,
                        (b * n + paddedToken(t)) * c,
                        c);
            }
        }
        NaReference.Gradients g = NaReference.backward(problem, attentionInputs, dAttended);
        float[] dQkv = new float[batch * n * 3 * c];
        for (int row = 0; row < batch * n; row++) {
            System.arraycopy(g.dq(), row * c, dQkv, row * 3 * c, c);
            System.arraycopy(g.dk(), row * c, dQkv, row * 3 * c + c, c);
            System.arraycopy(g.dv(), row * c, dQkv, row * 3 * c + 2 * c, c);
        }
        return new Grads(
                outerSum(dQkv, paddedInput, batch * n, 3 * c, c),
                columnSum(dQkv, batch * n, 3 * c),
                dProjWeight,
                dProjBias,
                g.drpb());
    }

    /** Parameter gradients, each flattened like its parameter. */
    record Grads(
            float[] qkvWeight,
            float[] qkvBias,
            float[] projWeight,
            float[] projBias,
            float[] rpb) {}

    private float[] crop(float[] full) {
        int c = channels;
        float[] out = new float[batch * tokens(spatial) * c];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < tokens(spatial); t++) {
                System.arraycopy(
                        full,
                        (b * problem.tokens() + paddedToken(t)) * c,
                        out,
                        (b * tokens(spatial) + t) * c,
                        c);
            }
        }
        return out;
    }

    private int paddedToken(int token) {
        int[] coordinates = new int[spatial.length];
        for (int axis = spatial.length - 1; axis >= 0; axis--) {
            coordinates[axis] = token % spatial[axis];
            token /= spatial[axis];
        }
        int result = 0;
        for (int axis = 0; axis < padded.length; axis++) {
            result = result * padded[axis] + coordinates[axis];
        }
        return result;
    }

    private static int tokens(int[] sizes) {
        int n = 1;
        for (int s : sizes) {
            n *= s;
        }
        return n;
    }

    private static float[] linear(float[] x, int rows, int in, int out, float[] w, float[] bias) {
        float[] y = new float[rows * out];
        for (int row = 0; row < rows; row++) {
            for (int o = 0; o < out; o++) {
                double sum = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    sum += (double) x[row * in + i] * w[o * in + i];
                }
                y[row * out + o] = (float) sum;
            }
        }
        return y;
    }

    /** {@code sum over rows of dy[row, o] * x[row, i]} as {@code [out, in]}. */
    private static float[] outerSum(float[] dy, float[] x, int rows, int out, int in) {
        float[] g = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int row = 0; row < rows; row++) {
                    sum += (double) dy[row * out + o] * x[row * in + i];
                }
                g[o * in + i] = (float) sum;
            }
        }
        return g;
    }

    private static float[] columnSum(float[] dy, int rows, int out) {
        float[] g = new float[out];
        for (int o = 0; o < out; o++) {
            double sum = 0;
            for (int row = 0; row < rows; row++) {
                sum += dy[row * out + o];
            }
            g[o] = (float) sum;
        }
        return g;
    }
}

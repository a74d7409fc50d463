package ai.natten.reference;

import ai.natten.core.NaProblem;
import java.util.stream.IntStream;

/**
 * The exact pure-Java reference of neighborhood attention, forward and backward: the oracle every
 * other backend is tested against.
 *
 * <p>Follows {@code shared/na-semantics.md} literally: for every query it enumerates the neighbour
 * set from {@link NaProblem#neighbourTokens(int)}, adds the additional key/value tokens, and runs
 * an exact softmax with double accumulation. Tensors are row-major float arrays in the layouts of
 * {@link NaProblem}. Work is spread over the common fork-join pool.
 */
public final class NaReference {

    private NaReference() {}

    /**
     * The inputs of one call.
     *
     * @param q query {@code [B, *spatial, heads, D]}
     * @param k key {@code [B, *spatial, kvHeads, D]}
     * @param v value {@code [B, *spatial, kvHeads, D]}
     * @param rpb relative positional bias {@code [heads, 2k0-1, ...]}, or null
     * @param additionalK additional keys {@code [B, T, kvHeads, D]}, or null
     * @param additionalV additional values {@code [B, T, kvHeads, D]}, or null
     */
    public record Inputs(
            float[] q,
            float[] k,
            float[] v,
            float[] rpb,
            float[] additionalK,
            float[] additionalV) {

        /** Returns inputs with no bias and no additional tokens. */
        public static Inputs of(float[] q, float[] k, float[] v) {
            return new Inputs(q, k, v, null, null, null);
        }
    }

    /**
     * The forward result.
     *
     * @param out output {@code [B, *spatial, heads, D]}
     * @param lse natural log-sum-exp of the logits {@code [B, *spatial, heads]}
     */
    public record Forward(float[] out, float[] lse) {}

    /**
     * The gradients of a scalar loss with respect to every input; {@code drpb} and the additional
     * gradients are null when the problem has none.
     */
    public record Gradients(
            float[] dq,
            float[] dk,
            float[] dv,
            float[] drpb,
            float[] dAdditionalK,
            float[] dAdditionalV) {}

    /**
     * Computes output and log-sum-exp.
     *
     * @param problem the problem
     * @param in the inputs, sized as the problem says
     * @return output and log-sum-exp
     */
    public static Forward forward(NaProblem problem, Inputs in) {
        Layout layout = new Layout(problem, in);
        float[] out = new float[layout.qSize()];
        float[] lse = new float[layout.lseSize()];
        IntStream.range(0, problem.batch() * problem.tokens())
                .parallel()
                .forEach(
                        bt -> {
                            int b = bt / problem.tokens();
                            int t = bt % problem.tokens();
                            Row row = new Row(layout, b, t);
                            for (int h = 0; h < problem.heads(); h++) {
                                row.softmax(h);
                                lse[layout.lse(b, t, h)] = (float) row.lse;
                                int o = layout.q(b, t, h);
                                for (int c = 0; c < problem.headDim(); c++) {
                                    double acc = 0;
                                    for (int n = 0; n < row.size(); n++) {
                                        acc += row.p[n] * row.values(n)[row.keyOffset(h, n) + c];
                                    }
                                    out[o + c] = (float) acc;
                                }
                            }
                        });
        return new Forward(out, lse);
    }

    /**
     * Computes the gradients of {@code sum(dOut * out)} with respect to every input.
     *
     * @param problem the problem
     * @param in the inputs
     * @param dOut the gradient of the output {@code [B, *spatial, heads, D]}
     * @return the gradients
     */
    public static Gradients backward(NaProblem problem, Inputs in, float[] dOut) {
        Layout layout = new Layout(problem, in);
        layout.check("dOut", dOut, layout.qSize());
        int d = problem.headDim();
        double[] dq = new double[layout.qSize()];
        double[] dk = new double[layout.kvSize()];
        double[] dv = new double[layout.kvSize()];
        double[] dAddK = new double[layout.additionalSize()];
        double[] dAddV = new double[layout.additionalSize()];
        double[] drpb = new double[in.rpb() == null ? 0 : in.rpb().length];
        int groupSize = problem.heads() / problem.kvHeads();
        // One task per (batch, kv head): the key/value gradients it writes are its own; bias
        // gradients are shared across the batch and are merged at the end of each task.
        IntStream.range(0, problem.batch() * problem.kvHeads())
                .parallel()
                .forEach(
                        task -> {
                            int b = task / problem.kvHeads();
                            int kvHead = task % problem.kvHeads();
                            double[] localRpb = new double[drpb.length];
                            double[] dp = new double[problem.maxNeighbours() + layout.extra];
                            for (int t = 0; t < problem.tokens(); t++) {
                                Row row = new Row(layout, b, t);
                                for (int h = kvHead * groupSize;
                                        h < (kvHead + 1) * groupSize;
                                        h++) {
                                    row.softmax(h);
                                    int qo = layout.q(b, t, h);
                                    double delta = 0;
                                    for (int n = 0; n < row.size(); n++) {
                                        dp[n] =
                                                dot(
                                                        dOut,
                                                        qo,
                                                        row.values(n),
                                                        row.keyOffset(h, n),
                                                        d);
                                        delta += row.p[n] * dp[n];
                                    }
                                    for (int n = 0; n < row.size(); n++) {
                                        double ds = row.p[n] * (dp[n] - delta);
                                        int ko = row.keyOffset(h, n);
                                        double[] dKeys = row.isAdditional(n) ? dAddK : dk;
                                        double[] dValues = row.isAdditional(n) ? dAddV : dv;
                                        float[] keys = row.keys(n);
                                        for (int c = 0; c < d; c++) {
                                            dq[qo + c] += problem.scale() * ds * keys[ko + c];
                                            dKeys[ko + c] += problem.scale() * ds * in.q()[qo + c];
                                            dValues[ko + c] += row.p[n] * dOut[qo + c];
                                        }
                                        if (localRpb.length > 0 && !row.isAdditional(n)) {
                                            localRpb[row.rpbOffset(h, n)] += ds;
                                        }
                                    }
                                }
                            }
                            synchronized (drpb) {
                                for (int i = 0; i < drpb.length; i++) {
                                    drpb[i] += localRpb[i];
                                }
                            }
                        });
        return new Gradients(
                toFloat(dq),
                toFloat(dk),
                toFloat(dv),
                in.rpb() == null ? null : toFloat(drpb),
                in.additionalK() == null ? null : toFloat(dAddK),
                in.additionalV() == null ? null : toFloat(dAddV));
    }

    private static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double acc = 0;
        for (int c = 0; c < n; c++) {
            acc += (double) a[ao + c] * b[bo + c];
        }
        return acc;
    }

    private static float[] toFloat(double[] values) {
        float[] result = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = (float) values[i];
        }
        return result;
    }

    /** Offsets into the flat tensors of one problem, and input size checks. */
    private static final class Layout {
        final NaProblem problem;
        final Inputs in;
        final int extra;

        Layout(NaProblem problem, Inputs in) {
            this.problem = problem;
            this.in = in;
            check("q", in.q(), qSize());
            check("k", in.k(), kvSize());
            check("v", in.v(), kvSize());
            if (problem.hasRpb() != (in.rpb() != null)) {
                throw new IllegalArgumentException(
                        "rpb must be given exactly when the problem has one: " + problem);
            }
            if (in.rpb() != null) {
                check("rpb", in.rpb(), problem.heads() * problem.rpbSizePerHead());
            }
            this.extra = problem.additionalTokens();
            if ((extra > 0) != (in.additionalK() != null)
                    || (in.additionalK() == null) != (in.additionalV() == null)) {
                throw new IllegalArgumentException(
                        "additional_k and additional_v must be given exactly when the problem has"
                                + " additional tokens: "
                                + problem);
            }
            if (extra > 0) {
                check("additional_k", in.additionalK(), additionalSize());
                check("additional_v", in.additionalV(), additionalSize());
            }
        }

        int qSize() {
            return problem.batch() * problem.tokens() * problem.heads() * problem.headDim();
        }

        int kvSize() {
            return problem.batch() * problem.tokens() * problem.kvHeads() * problem.headDim();
        }

        int lseSize() {
            return problem.batch() * problem.tokens() * problem.heads();
        }

        int additionalSize() {
            return problem.batch() * extra * problem.kvHeads() * problem.headDim();
        }

        int q(int b, int t, int h) {
            return ((b * problem.tokens() + t) * problem.heads() + h) * problem.headDim();
        }

        int lse(int b, int t, int h) {
            return (b * problem.tokens() + t) * problem.heads() + h;
        }

        int kv(int b, int t, int kvHead) {
            return ((b * problem.tokens() + t) * problem.kvHeads() + kvHead) * problem.headDim();
        }

        int additional(int b, int a, int kvHead) {
            return ((b * extra + a) * problem.kvHeads() + kvHead) * problem.headDim();
        }

        void check(String name, float[] values, int expected) {
            if (values == null || values.length != expected) {
                throw new IllegalArgumentException(
                        name
                                + " must have "
                                + expected
                                + " elements for "
                                + problem
                                + ", got "
                                + (values == null ? "null" : values.length));
            }
        }
    }

    /** The keys one query attends to (neighbours, then additional tokens) and its softmax. */
    private static final class Row {
        final Layout layout;
        final int b;
        final int t;
        final int[] neighbours;
        final int[] rpbOffsets;
        final double[] p;
        double lse;

        Row(Layout layout, int b, int t) {
            this.layout = layout;
            this.b = b;
            this.t = t;
            this.neighbours = layout.problem.neighbourTokens(t);
            this.rpbOffsets = new int[neighbours.length];
            for (int n = 0; n < neighbours.length; n++) {
                rpbOffsets[n] = layout.problem.rpbOffset(t, neighbours[n]);
            }
            this.p = new double[neighbours.length + layout.extra];
        }

        int size() {
            return p.length;
        }

        boolean isAdditional(int n) {
            return n >= neighbours.length;
        }

        /** Returns the offset of the key (and value: they share a layout) of entry n for head h. */
        int keyOffset(int h, int n) {
            int kvHead = layout.problem.kvHead(h);
            return isAdditional(n)
                    ? layout.additional(b, n - neighbours.length, kvHead)
                    : layout.kv(b, neighbours[n], kvHead);
        }

        float[] keys(int n) {
            return isAdditional(n) ? layout.in.additionalK() : layout.in.k();
        }

        float[] values(int n) {
            return isAdditional(n) ? layout.in.additionalV() : layout.in.v();
        }

        int rpbOffset(int h, int n) {
            return h * layout.problem.rpbSizePerHead() + rpbOffsets[n];
        }

        /** Fills {@link #p} with the softmax of head {@code h}'s logits and sets {@link #lse}. */
        void softmax(int h) {
            NaProblem problem = layout.problem;
            int qo = layout.q(b, t, h);
            double max = Double.NEGATIVE_INFINITY;
            for (int n = 0; n < p.length; n++) {
                double logit =
                        problem.scale()
                                * dot(
                                        layout.in.q(),
                                        qo,
                                        keys(n),
                                        keyOffset(h, n),
                                        problem.headDim());
                if (layout.in.rpb() != null && !isAdditional(n)) {
                    logit += layout.in.rpb()[rpbOffset(h, n)];
                }
                p[n] = logit;
                max = Math.max(max, logit);
            }
            double sum = 0;
            for (int n = 0; n < p.length; n++) {
                p[n] = Math.exp(p[n] - max);
                sum += p[n];
            }
            for (int n = 0; n < p.length; n++) {
                p[n] /= sum;
            }
            lse = max + Math.log(sum);
        }
    }
}

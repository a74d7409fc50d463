package ai.natten.reference;

import ai.natten.core.NaProblem;

/**
 * Brute-force dense attention with an explicit boolean mask, written from the definition without
 * {@link ai.natten.core.AxisWindow}: each axis's window is found by walking the dilation group's
 * members, centring on the leader and shifting inward at the borders.
 */
final class DenseAttention {

    private DenseAttention() {}

    /** Returns whether key {@code j} is in the window of query {@code i} on one axis. */
    static boolean axisAllows(int i, int j, int length, int k, int d, int s, boolean causal) {
        if (i % d != j % d) {
            return false;
        }
        int members = 0;
        for (int x = i % d; x < length; x += d) {
            members++;
        }
        int qi = i / d;
        int kj = j / d;
        if (causal) {
            int leader = Math.min((qi / s) * s + s - 1, members - 1);
            int first = Math.max(0, leader - (k - 1));
            return kj >= first && kj <= qi;
        }
        int leader = Math.min((qi / s) * s + s / 2, members - 1);
        int first = leader - k / 2;
        int last = first + k - 1;
        while (first < 0) {
            first++;
            last++;
        }
        while (last > members - 1) {
            first--;
            last--;
        }
        return kj >= first && kj <= last;
    }

    /** Returns the mask {@code [tokens, tokens]}: whether query token q attends key token k. */
    static boolean[][] mask(NaProblem p) {
        int n = p.tokens();
        boolean[][] mask = new boolean[n][n];
        for (int qt = 0; qt < n; qt++) {
            int[] qc = p.coordinates(qt);
            for (int kt = 0; kt < n; kt++) {
                int[] kc = p.coordinates(kt);
                boolean allowed = true;
                for (int axis = 0; axis < p.rank(); axis++) {
                    var w = p.window(axis);
                    allowed &=
                            axisAllows(
                                    qc[axis],
                                    kc[axis],
                                    w.length(),
                                    w.kernel(),
                                    w.dilation(),
                                    w.stride(),
                                    w.causal());
                }
                mask[qt][kt] = allowed;
            }
        }
        return mask;
    }

    /** Dense forward in double: every key is scored, masked ones are dropped from the softmax. */
    static double[][] forward(NaProblem p, NaReference.Inputs in) {
        int n = p.tokens();
        int d = p.headDim();
        int extra = p.additionalTokens();
        boolean[][] mask = mask(p);
        double[] out = new double[p.batch() * n * p.heads() * d];
        double[] lse = new double[p.batch() * n * p.heads()];
        for (int b = 0; b < p.batch(); b++) {
            for (int qt = 0; qt < n; qt++) {
                int[] qc = p.coordinates(qt);
                for (int h = 0; h < p.heads(); h++) {
                    int kh = h / (p.heads() / p.kvHeads());
                    int qo = ((b * n + qt) * p.heads() + h) * d;
                    double[] logits = new double[n + extra];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n + extra; j++) {
                        if (j < n && !mask[qt][j]) {
                            logits[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        float[] keys = j < n ? in.k() : in.additionalK();
                        int ko =
                                j < n
                                        ? ((b * n + j) * p.kvHeads() + kh) * d
                                        : ((b * extra + j - n) * p.kvHeads() + kh) * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) in.q()[qo + c] * keys[ko + c];
                        }
                        logits[j] = p.scale() * dot;
                        if (in.rpb() != null && j < n) {
                            logits[j] += in.rpb()[h * p.rpbSizePerHead() + biasIndex(p, qc, j)];
                        }
                        max = Math.max(max, logits[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n + extra; j++) {
                        sum += Math.exp(logits[j] - max);
                    }
                    lse[(b * n + qt) * p.heads() + h] = max + Math.log(sum);
                    for (int j = 0; j < n + extra; j++) {
                        double w = Math.exp(logits[j] - max) / sum;
                        if (w == 0) {
                            continue;
                        }
                        float[] values = j < n ? in.v() : in.additionalV();
                        int vo =
                                j < n
                                        ? ((b * n + j) * p.kvHeads() + kh) * d
                                        : ((b * extra + j - n) * p.kvHeads() + kh) * d;
                        for (int c = 0; c < d; c++) {
                            out[qo + c] += w * values[vo + c];
                        }
                    }
                }
            }
        }
        return new double[][] {out, lse};
    }

    private static int biasIndex(NaProblem p, int[] qc, int keyToken) {
        int[] kc = p.coordinates(keyToken);
        int index = 0;
        for (int axis = 0; axis < p.rank(); axis++) {
            int k = p.window(axis).kernel();
            index = index * (2 * k - 1) + (kc[axis] - qc[axis]) / p.window(axis).dilation() + k - 1;
        }
        return index;
    }
}

package ai.natten.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NaReferenceTest {

    private final Random random = new Random();

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void forwardEqualsDenseMaskedAttention(int rank) {
        for (int trial = 0; trial < 40; trial++) {
            NaProblem p = RandomProblems.next(random, rank, 60, true, true);
            NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
            NaReference.Forward got = NaReference.forward(p, in);
            double[][] want = DenseAttention.forward(p, in);
            assertClose(want[0], got.out(), 1e-5, "out " + p);
            assertClose(want[1], got.lse(), 1e-5, "lse " + p);
        }
    }

    @Test
    void neighbourTokensEqualTheDenseMask() {
        for (int trial = 0; trial < 60; trial++) {
            NaProblem p = RandomProblems.next(random, 1 + random.nextInt(3), 80, false, false);
            boolean[][] mask = DenseAttention.mask(p);
            for (int q = 0; q < p.tokens(); q++) {
                boolean[] fromTokens = new boolean[p.tokens()];
                for (int k : p.neighbourTokens(q)) {
                    fromTokens[k] = true;
                }
                for (int k = 0; k < p.tokens(); k++) {
                    assertEquals(mask[q][k], fromTokens[k], p + " query " + q + " key " + k);
                }
            }
        }
    }

    @Test
    void singleNeighbourCopiesItsValue() {
        // Causal with stride 1: the first query of an axis sees only itself.
        NaProblem p = problem(NaOptions.builder().setKernelSize(3).optCausal(true).build(), 8);
        NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
        float[] out = NaReference.forward(p, in).out();
        for (int c = 0; c < p.headDim(); c++) {
            assertEquals(in.v()[c], out[c], 1e-6);
        }
    }

    @Test
    void nanTouchesOnlyTheQueriesThatSeeIt() {
        NaProblem p = problem(NaOptions.builder().setKernelSize(3).build(), 12);
        NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
        in.k()[6 * p.headDim()] = Float.NaN; // key token 6
        float[] out = NaReference.forward(p, in).out();
        for (int q = 0; q < p.tokens(); q++) {
            boolean sees = q >= 5 && q <= 7;
            assertEquals(sees, Float.isNaN(out[q * p.headDim()]), "query " + q);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void backwardEqualsCentralFiniteDifferences(int rank) {
        for (int trial = 0; trial < 6; trial++) {
            NaProblem p = RandomProblems.next(random, rank, 30, true, true);
            NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
            float[] dOut = RandomProblems.normal(random, in.q().length, 1.0);
            NaReference.Gradients g = NaReference.backward(p, in, dOut);
            Function<NaReference.Inputs, Double> loss =
                    x -> dotD(dOut, NaReference.forward(p, x).out());
            checkGradient("dq", in.q(), g.dq(), in, loss, p);
            checkGradient("dk", in.k(), g.dk(), in, loss, p);
            checkGradient("dv", in.v(), g.dv(), in, loss, p);
            if (p.hasRpb()) {
                checkGradient("drpb", in.rpb(), g.drpb(), in, loss, p);
            }
            if (p.additionalTokens() > 0) {
                checkGradient("dAdditionalK", in.additionalK(), g.dAdditionalK(), in, loss, p);
                checkGradient("dAdditionalV", in.additionalV(), g.dAdditionalV(), in, loss, p);
            }
        }
    }

    @Test
    void gradientsOfUnusedKeysAreZeroAndUsedOnesAreNot() {
        // Stride equal to the kernel: blocks of 4; with causal, key 3 of each block is seen only by
        // query 3 of the block. Make dOut zero except for query 0: then only keys of block 0 that
        // query 0 sees (key 0) get value gradients.
        NaProblem p =
                problem(
                        NaOptions.builder().setKernelSize(4).optStride(4).optCausal(true).build(),
                        8);
        NaReference.Inputs in = RandomProblems.inputs(p, random, 1.0);
        float[] dOut = new float[in.q().length];
        for (int c = 0; c < p.headDim(); c++) {
            dOut[c] = (float) random.nextGaussian();
        }
        float[] dv = NaReference.backward(p, in, dOut).dv();
        for (int t = 0; t < p.tokens(); t++) {
            boolean nonZero = false;
            for (int c = 0; c < p.headDim(); c++) {
                nonZero |= dv[t * p.headDim() + c] != 0;
            }
            // With causal blocks of stride 4, query 0's leader is 3, so it sees keys 0..0.
            assertEquals(t == 0, nonZero, "dv of token " + t);
        }
        assertFalse(Float.isNaN(dv[0]));
    }

    private NaProblem problem(NaOptions options, int length) {
        return NaProblem.builder()
                .setOptions(options)
                .setBatch(1)
                .setSpatialSize(length)
                .setHeads(1)
                .setHeadDim(4)
                .build();
    }

    private void checkGradient(
            String name,
            float[] x,
            float[] analytic,
            NaReference.Inputs in,
            Function<NaReference.Inputs, Double> loss,
            NaProblem p) {
        double eps = 1e-2;
        double err = 0;
        double norm = 0;
        for (int sample = 0; sample < Math.min(24, x.length); sample++) {
            int i = random.nextInt(x.length);
            float saved = x[i];
            x[i] = (float) (saved + eps);
            double plus = loss.apply(in);
            x[i] = (float) (saved - eps);
            double minus = loss.apply(in);
            x[i] = saved;
            double numeric =
                    (plus - minus) / (((double) (float) (saved + eps)) - (float) (saved - eps));
            err += (numeric - analytic[i]) * (numeric - analytic[i]);
            norm += numeric * numeric;
        }
        assertTrue(
                Math.sqrt(err) <= 2e-3 * Math.sqrt(norm) + 1e-5,
                name
                        + " finite-difference error "
                        + Math.sqrt(err)
                        + " of "
                        + Math.sqrt(norm)
                        + " for "
                        + p);
    }

    private static double dotD(float[] a, float[] b) {
        double acc = 0;
        for (int i = 0; i < a.length; i++) {
            acc += (double) a[i] * b[i];
        }
        return acc;
    }

    static void assertClose(double[] want, float[] got, double tolerance, String what) {
        assertEquals(want.length, got.length, what);
        double err = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            err += (want[i] - got[i]) * (want[i] - got[i]);
            norm += want[i] * want[i];
        }
        assertTrue(
                Math.sqrt(err) <= tolerance * Math.sqrt(norm),
                what + ": relative error " + Math.sqrt(err / norm));
    }
}

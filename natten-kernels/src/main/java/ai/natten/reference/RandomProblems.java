package ai.natten.reference;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.Random;

/**
 * Random problems and inputs for testing backends against {@link NaReference}: small shapes that
 * stress borders, even kernels, ragged dilation groups, stride, causal axes, GQA, bias and
 * additional tokens.
 */
public final class RandomProblems {

    private RandomProblems() {}

    /**
     * Returns a random problem of the given rank whose token count stays near {@code maxTokens}.
     *
     * @param random the source of randomness
     * @param rank 1, 2 or 3
     * @param maxTokens a soft bound on the spatial token count
     * @param allowRpb whether the problem may carry a relative positional bias
     * @param allowAdditional whether the problem may carry additional key/value tokens
     */
    public static NaProblem next(
            Random random, int rank, int maxTokens, boolean allowRpb, boolean allowAdditional) {
        int perAxis = (int) Math.max(4, Math.round(Math.pow(maxTokens, 1.0 / rank)));
        int[] kernel = new int[rank];
        int[] dilation = new int[rank];
        int[] stride = new int[rank];
        int[] spatial = new int[rank];
        boolean[] causal = new boolean[rank];
        boolean rpb = allowRpb && random.nextInt(3) == 0;
        for (int axis = 0; axis < rank; axis++) {
            kernel[axis] = 2 + random.nextInt(Math.max(1, Math.min(5, perAxis - 1)));
            dilation[axis] = 1 + random.nextInt(Math.max(1, perAxis / kernel[axis]));
            spatial[axis] =
                    kernel[axis] * dilation[axis] + random.nextInt(Math.max(1, perAxis / 2 + 1));
            stride[axis] = 1 + random.nextInt(kernel[axis]);
            causal[axis] = !rpb && random.nextInt(3) == 0;
        }
        NaOptions.Builder options =
                NaOptions.builder()
                        .setKernelSize(kernel)
                        .optDilation(dilation)
                        .optStride(stride)
                        .optCausal(causal);
        if (random.nextInt(3) == 0) {
            options.optScale((float) (0.1 + random.nextDouble()));
        }
        int kvHeads = 1 + random.nextInt(2);
        return NaProblem.builder()
                .setOptions(options.build())
                .setBatch(1 + random.nextInt(2))
                .setSpatialSize(spatial)
                .setHeads(kvHeads * (1 + random.nextInt(2)))
                .optKvHeads(kvHeads)
                .setHeadDim(1 + random.nextInt(8))
                .optRpb(rpb)
                .optAdditionalTokens(
                        allowAdditional && random.nextBoolean() ? 1 + random.nextInt(3) : 0)
                .build();
    }

    /** Returns random inputs of the problem, normal with standard deviation {@code std}. */
    public static NaReference.Inputs inputs(NaProblem p, Random random, double std) {
        int kv = p.batch() * p.tokens() * p.kvHeads() * p.headDim();
        int additional = p.batch() * p.additionalTokens() * p.kvHeads() * p.headDim();
        return new NaReference.Inputs(
                normal(random, p.batch() * p.tokens() * p.heads() * p.headDim(), std),
                normal(random, kv, std),
                normal(random, kv, std),
                p.hasRpb() ? normal(random, p.heads() * p.rpbSizePerHead(), std) : null,
                additional > 0 ? normal(random, additional, std) : null,
                additional > 0 ? normal(random, additional, std) : null);
    }

    /** Returns {@code n} normal samples with standard deviation {@code std}. */
    public static float[] normal(Random random, int n, double std) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        return values;
    }
}

package ai.natten.djl;

import ai.natten.core.NaProblem;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The neighbour table of a problem's geometry, flattened for gathers: for every query token its
 * {@code K = prod(kernel)} key tokens, and, when a bias is used, the bias offsets.
 *
 * <p>Queries with fewer than K neighbours (causal axes) are padded with their first neighbour,
 * whose logit {@link #padding()} then pushes to -infinity. Padding with a real neighbour keeps NaN
 * or infinity in an unrelated token from reaching this query. Tables are cached per geometry.
 */
final class NeighbourIndex {

    private static final int CACHE_SIZE = 32;
    private static final Map<String, NeighbourIndex> CACHE =
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, NeighbourIndex> eldest) {
                    return size() > CACHE_SIZE;
                }
            };

    private final int tokens;
    private final int neighbours;
    private final long[] keys;
    private final long[] rpbOffsets;
    private final float[] padding;

    private NeighbourIndex(NaProblem problem) {
        this.tokens = problem.tokens();
        this.neighbours = problem.maxNeighbours();
        this.keys = new long[tokens * neighbours];
        this.rpbOffsets = problem.hasRpb() ? new long[keys.length] : null;
        float[] additive = new float[keys.length];
        boolean padded = false;
        for (int q = 0; q < tokens; q++) {
            int[] set = problem.neighbourTokens(q);
            for (int n = 0; n < neighbours; n++) {
                int key = n < set.length ? set[n] : set[0];
                keys[q * neighbours + n] = key;
                additive[q * neighbours + n] = n < set.length ? 0 : Float.NEGATIVE_INFINITY;
                if (rpbOffsets != null) {
                    rpbOffsets[q * neighbours + n] = problem.rpbOffset(q, key);
                }
            }
            padded |= set.length < neighbours;
        }
        this.padding = padded ? additive : null;
    }

    /** Returns the table of the problem's geometry, from the cache when possible. */
    static NeighbourIndex of(NaProblem problem) {
        String key =
                Arrays.toString(problem.spatialSizes())
                        + problem.options()
                        + (problem.hasRpb() ? "rpb" : "");
        synchronized (CACHE) {
            return CACHE.computeIfAbsent(key, k -> new NeighbourIndex(problem));
        }
    }

    /** Returns the number of query tokens N. */
    int tokens() {
        return tokens;
    }

    /** Returns the neighbours per query K, the product of the kernel sizes. */
    int neighbours() {
        return neighbours;
    }

    /** Returns the key token of every (query, slot), {@code [N * K]}. */
    long[] keys() {
        return keys;
    }

    /** Returns the bias offset of every (query, slot), {@code [N * K]}, or null without bias. */
    long[] rpbOffsets() {
        return rpbOffsets;
    }

    /** Returns 0 for real neighbours and -infinity for padding, {@code [N * K]}; null if none. */
    float[] padding() {
        return padding;
    }
}

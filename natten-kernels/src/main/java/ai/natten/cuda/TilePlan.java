package ai.natten.cuda;

import ai.natten.core.AxisWindow;
import ai.natten.core.NaProblem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The query-tile and key/value-tile shapes (boxes, in dilation-group coordinates, rank padded to 3)
 * of the tensor-core kernels for one problem.
 *
 * <p>Chosen by a cost model over every power-of-two box of the fixed tile sizes: the work of a
 * query tile is the number of key/value tiles covering its haloed box, plus a constant for loading
 * the queries and writing the output; the model sums it over the query tiles of the longest
 * dilation group. Per axis the halo count only depends on that axis, so the sum factorizes. The
 * dk/dv kernels walk the other way (boxes of the query-tile shape over the keys, visiting the tiles
 * of the key/value-tile shape over the queries of their keys' inverse windows), so each plan also
 * carries that walk's modelled work and {@link #chooseInverse} ranks by it. Plans are cached per
 * window geometry.
 *
 * <p>The system property {@code natten.cuda.planRank} (default 0, the cheapest) picks the plan of
 * that rank in the model's order instead, for benchmarks that test the model against the device and
 * for tests that every plan the search can produce is correct.
 */
final class TilePlan {

    /** Cost of a query tile's prologue and epilogue, in key/value tiles. */
    private static final double TILE_OVERHEAD = 1.0;

    private static final int AXES = 3;
    private static final ConcurrentHashMap<String, Rankings> CACHE = new ConcurrentHashMap<>();

    /** The plans of one window geometry, cheapest first by each kernel family's modelled work. */
    private record Rankings(List<TilePlan> forward, List<TilePlan> inverse) {}

    private final int[] queryTile;
    private final int[] kvTile;
    private final int[] tileCounts;
    private final int groups;
    private final double cost;
    private final double inverseCost;

    private TilePlan(
            int[] queryTile,
            int[] kvTile,
            int[] tileCounts,
            int groups,
            double cost,
            double inverseCost) {
        this.queryTile = queryTile;
        this.kvTile = kvTile;
        this.tileCounts = tileCounts;
        this.groups = groups;
        this.cost = cost;
        this.inverseCost = inverseCost;
    }

    /**
     * Returns the cheapest plan for tiles of {@code queryTileSize} queries and {@code kvTileSize}
     * keys (both powers of two), or the plan of rank {@code natten.cuda.planRank}.
     *
     * @throws IllegalArgumentException when that rank is negative or not below the plan count
     */
    static TilePlan choose(NaProblem p, int queryTileSize, int kvTileSize) {
        return pick(p, ranked(p, queryTileSize, kvTileSize, false));
    }

    /**
     * Returns the plan of the dk/dv kernels, the cheapest by their modelled work (or the plan of
     * rank {@code natten.cuda.planRank}): boxes of the query tile's shape over the keys, each
     * walking tiles of the key/value tile's shape over the queries of its keys' inverse windows.
     */
    static TilePlan chooseInverse(NaProblem p, int queryTileSize, int kvTileSize) {
        return pick(p, ranked(p, queryTileSize, kvTileSize, true));
    }

    private static TilePlan pick(NaProblem p, List<TilePlan> plans) {
        int rank = Integer.getInteger("natten.cuda.planRank", 0);
        if (rank < 0 || rank >= plans.size()) {
            throw new IllegalArgumentException(
                    "natten.cuda.planRank must be in [0, "
                            + plans.size()
                            + ") for "
                            + p
                            + ", got "
                            + rank);
        }
        return plans.get(rank);
    }

    /**
     * Returns every plan for the tile sizes, cheapest first by the modelled work of the forward
     * (and dq) kernels or, with {@code inverse}, of the dk/dv kernels (ties in search order).
     */
    static List<TilePlan> ranked(NaProblem p, int queryTileSize, int kvTileSize, boolean inverse) {
        StringBuilder key =
                new StringBuilder().append(queryTileSize).append('/').append(kvTileSize);
        for (int axis = 0; axis < p.rank(); axis++) {
            key.append('/').append(p.window(axis));
        }
        Rankings rankings =
                CACHE.computeIfAbsent(
                        key.toString(), k -> rank(search(p, queryTileSize, kvTileSize)));
        return inverse ? rankings.inverse() : rankings.forward();
    }

    /** The searched plans sorted both ways (stable sorts: ties keep the search order). */
    private static Rankings rank(List<TilePlan> plans) {
        List<TilePlan> forward = new ArrayList<>(plans);
        forward.sort(Comparator.comparingDouble(TilePlan::cost));
        List<TilePlan> inverse = new ArrayList<>(plans);
        inverse.sort(Comparator.comparingDouble(TilePlan::inverseCost));
        return new Rankings(List.copyOf(forward), List.copyOf(inverse));
    }

    private static List<TilePlan> search(NaProblem p, int queryTileSize, int kvTileSize) {
        AxisWindow[] windows = paddedWindows(p);
        int groups = 1;
        for (AxisWindow w : windows) {
            groups *= w == null ? 1 : w.dilation();
        }
        List<TilePlan> plans = new ArrayList<>();
        for (int[] q : boxes(windows, queryTileSize)) {
            int[] counts = new int[AXES];
            for (int a = 0; a < AXES; a++) {
                counts[a] = tileCount(windows[a], q[a]);
            }
            for (int[] kv : boxes(windows, kvTileSize)) {
                double haloTiles = 1;
                double inverseHaloTiles = 1;
                for (int a = 0; a < AXES; a++) {
                    haloTiles *= haloTileSum(windows[a], q[a], kv[a], false);
                    inverseHaloTiles *= haloTileSum(windows[a], q[a], kv[a], true);
                }
                double overhead = TILE_OVERHEAD * counts[0] * counts[1] * counts[2];
                double products = (double) queryTileSize * kvTileSize;
                plans.add(
                        new TilePlan(
                                q,
                                kv,
                                counts,
                                groups,
                                (haloTiles + overhead) * products,
                                (inverseHaloTiles + overhead) * products));
            }
        }
        return plans;
    }

    /** The problem's windows in padded slots (null for a padding axis of length 1). */
    private static AxisWindow[] paddedWindows(NaProblem p) {
        AxisWindow[] windows = new AxisWindow[AXES];
        for (int axis = 0; axis < p.rank(); axis++) {
            windows[AXES - p.rank() + axis] = p.window(axis);
        }
        return windows;
    }

    /** Every power-of-two box of {@code size} elements with extent 1 on padding axes. */
    private static List<int[]> boxes(AxisWindow[] windows, int size) {
        List<int[]> result = new ArrayList<>();
        for (int a = 1; a <= size; a *= 2) {
            for (int b = 1; a * b <= size; b *= 2) {
                int[] box = {a, b, size / (a * b)};
                boolean fits = true;
                for (int axis = 0; axis < AXES; axis++) {
                    fits &= windows[axis] != null || box[axis] == 1;
                }
                if (fits) {
                    result.add(box);
                }
            }
        }
        return result;
    }

    /** Group length of the longest dilation group (group 0). */
    private static int longestGroup(AxisWindow w) {
        return w == null ? 1 : w.groupLength(0);
    }

    private static int tileCount(AxisWindow w, int tile) {
        return (longestGroup(w) + tile - 1) / tile;
    }

    /**
     * Sum over the tiles of {@code boxTile} along one axis of the tiles of {@code walkTile}
     * covering each one's halo: the union of its queries' windows (the forward, dq), or with {@code
     * inverse} of its keys' inverse windows (dk/dv). Window bounds are monotonic, so the union of a
     * box's windows runs from its first's start to its last's end.
     */
    static long haloTileSum(AxisWindow w, int boxTile, int walkTile, boolean inverse) {
        if (w == null) {
            return 1;
        }
        int lg = longestGroup(w);
        int d = w.dilation();
        int[] inverseStart = inverse ? new int[lg] : null;
        int[] inverseEnd = inverse ? new int[lg] : null;
        if (inverse) {
            // the queries i whose windows hold key j: [first i with end(i) > j, first i with
            // start(i) > j), both monotonic in j (group indices; start and end take spatial ones)
            for (int j = 0, first = 0, past = 0; j < lg; j++) {
                while (first < lg && w.end(first * d) <= j) {
                    first++;
                }
                while (past < lg && w.start(past * d) <= j) {
                    past++;
                }
                inverseStart[j] = first;
                inverseEnd[j] = past;
            }
        }
        long sum = 0;
        for (int b0 = 0; b0 < lg; b0 += boxTile) {
            int last = Math.min(b0 + boxTile, lg) - 1;
            int halo =
                    inverse
                            ? inverseEnd[last] - inverseStart[b0]
                            : w.end(last * d) - w.start(b0 * d);
            sum += (Math.max(halo, 0) + walkTile - 1) / walkTile;
        }
        return sum;
    }

    /**
     * Returns the modelled work of one dilation group in query-key products: the key/value tiles
     * visited (plus the per-tile overhead) times the tile sizes.
     */
    double cost() {
        return cost;
    }

    /**
     * Returns the modelled work of the dk/dv kernels of one dilation group (like {@link #cost}).
     */
    double inverseCost() {
        return inverseCost;
    }

    /** Query tile shape per padded axis. */
    int[] queryTile() {
        return queryTile.clone();
    }

    /** Key/value tile shape per padded axis. */
    int[] kvTile() {
        return kvTile.clone();
    }

    /** Query tiles per padded axis of the longest dilation group. */
    int[] tileCounts() {
        return tileCounts.clone();
    }

    /** Number of CTAs along grid x: dilation groups times query tiles per group. */
    long gridX() {
        return (long) groups * tileCounts[0] * tileCounts[1] * tileCounts[2];
    }

    @Override
    public String toString() {
        return "q" + Arrays.toString(queryTile) + " kv" + Arrays.toString(kvTile);
    }
}

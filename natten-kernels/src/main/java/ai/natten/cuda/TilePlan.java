package ai.natten.cuda;

import ai.natten.core.AxisWindow;
import ai.natten.core.NaProblem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The query-tile and key/value-tile shapes (boxes, in dilation-group coordinates, rank padded to 3)
 * of the tensor-core kernels for one problem.
 *
 * <p>Chosen by a cost model over every power-of-two box of the fixed tile sizes: the work of a
 * query tile is the number of key/value tiles covering its haloed box, plus a constant for loading
 * the queries and writing the output; the model sums it over the query tiles of the longest
 * dilation group. Per axis the halo count only depends on that axis, so the sum factorizes. Plans
 * are cached per window geometry.
 *
 * <p>For kernels whose warps skip key runs outside their own halo (the forward: each warp's {@code
 * warpRows} query rows are a sub-box of the query tile, each aligned run of 32 keys a sub-box of
 * the key/value tile), the products the warps actually compute replace most of the tile count: a
 * warp computes a run when the run's box meets the union of the warp's windows. The remaining share
 * ({@link #PER_TILE_SHARE}) stays per tile: loads, barriers, masks and softmax of every tile.
 */
final class TilePlan {

    /** Cost of a query tile's prologue and epilogue, in key/value tiles. */
    private static final double TILE_OVERHEAD = 1.0;

    /**
     * Share of a key/value tile's time that a warp spends whatever it skips (loads, barriers,
     * masks, softmax); the rest scales with the 32-key runs it computes. An estimate, not yet
     * fitted.
     */
    private static final double PER_TILE_SHARE = 0.25;

    /** Keys per run that a warp computes or skips as a whole. */
    private static final int KEY_RUN = 32;

    private static final int AXES = 3;
    private static final ConcurrentHashMap<String, TilePlan> CACHE = new ConcurrentHashMap<>();

    private final int[] queryTile;
    private final int[] kvTile;
    private final int[] tileCounts;
    private final int groups;
    private final double cost;

    private TilePlan(int[] queryTile, int[] kvTile, int[] tileCounts, int groups, double cost) {
        this.queryTile = queryTile;
        this.kvTile = kvTile;
        this.tileCounts = tileCounts;
        this.groups = groups;
        this.cost = cost;
    }

    /**
     * Returns the cheapest plan for tiles of {@code queryTileSize} queries and {@code kvTileSize}
     * keys (both powers of two).
     */
    static TilePlan choose(NaProblem p, int queryTileSize, int kvTileSize) {
        return choose(p, queryTileSize, kvTileSize, 0);
    }

    /**
     * Returns the cheapest plan for a kernel whose warps of {@code warpRows} query rows skip the
     * 32-key runs outside their halo ({@code warpRows} 0: warps compute whole tiles).
     */
    static TilePlan choose(NaProblem p, int queryTileSize, int kvTileSize, int warpRows) {
        StringBuilder key =
                new StringBuilder()
                        .append(queryTileSize)
                        .append('/')
                        .append(kvTileSize)
                        .append('/')
                        .append(warpRows);
        for (int axis = 0; axis < p.rank(); axis++) {
            key.append('/').append(p.window(axis));
        }
        return CACHE.computeIfAbsent(
                key.toString(), k -> search(p, queryTileSize, kvTileSize, warpRows));
    }

    private static TilePlan search(NaProblem p, int queryTileSize, int kvTileSize, int warpRows) {
        AxisWindow[] windows = paddedWindows(p);
        double best = Double.POSITIVE_INFINITY;
        int[] bestQ = null;
        int[] bestKv = null;
        for (int[] q : boxes(windows, queryTileSize)) {
            for (int[] kv : boxes(windows, kvTileSize)) {
                double haloTiles = 1;
                double queryTiles = 1;
                for (int a = 0; a < AXES; a++) {
                    haloTiles *= haloTileSum(windows[a], q[a], kv[a]);
                    queryTiles *= tileCount(windows[a], q[a]);
                }
                double cost = haloTiles + TILE_OVERHEAD * queryTiles;
                if (warpRows > 0) {
                    double runs = warpRuns(windows, q, kv, warpRows);
                    double share = (double) warpRows * KEY_RUN / (queryTileSize * kvTileSize);
                    cost += (1 - PER_TILE_SHARE) * (runs * share - haloTiles);
                }
                if (cost < best) {
                    best = cost;
                    bestQ = q;
                    bestKv = kv;
                }
            }
        }
        int[] counts = new int[AXES];
        int groups = 1;
        for (int a = 0; a < AXES; a++) {
            counts[a] = tileCount(windows[a], bestQ[a]);
            groups *= windows[a] == null ? 1 : windows[a].dilation();
        }
        return new TilePlan(bestQ, bestKv, counts, groups, best * queryTileSize * kvTileSize);
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

    /**
     * Sum over the query tiles, their warps and their key/value tiles of the 32-key runs that meet
     * the warp's halo. Warps and runs are aligned row-major sub-boxes, so per (warp, run) the sum
     * factorizes over the axes.
     */
    private static double warpRuns(AxisWindow[] windows, int[] q, int[] kv, int warpRows) {
        int[] warpBox = subBox(q, warpRows);
        int[] runBox = subBox(kv, KEY_RUN);
        double total = 0;
        int warps = q[0] * q[1] * q[2] / warpRows;
        for (int w = 0; w < warps; w++) {
            int[] warpOrigin = unflatten(w * warpRows, q);
            for (int r = 0; r < kv[0] * kv[1] * kv[2] / KEY_RUN; r++) {
                int[] runOrigin = unflatten(r * KEY_RUN, kv);
                double product = 1;
                for (int a = 0; a < AXES && product > 0; a++) {
                    product *=
                            axisRunHits(
                                    windows[a],
                                    q[a],
                                    kv[a],
                                    warpOrigin[a],
                                    warpBox[a],
                                    runOrigin[a],
                                    runBox[a]);
                }
                total += product;
            }
        }
        return total;
    }

    /**
     * On one axis, over the query tiles: the key/value tiles of each tile's halo whose run (offset
     * {@code runOrigin}, extent {@code runExtent}) meets the halo of the warp rows at offset {@code
     * warpOrigin}, extent {@code warpExtent}.
     */
    private static long axisRunHits(
            AxisWindow w,
            int queryTile,
            int kvTile,
            int warpOrigin,
            int warpExtent,
            int runOrigin,
            int runExtent) {
        if (w == null) {
            return 1;
        }
        int lg = longestGroup(w);
        int d = w.dilation();
        long hits = 0;
        for (int q0 = 0; q0 < lg; q0 += queryTile) {
            int q1 = Math.min(q0 + queryTile, lg);
            int lo = q0 + warpOrigin;
            int hi = Math.min(lo + warpExtent, q1);
            if (lo >= hi) {
                continue;
            }
            int haloStart = w.start(q0 * d);
            int tiles = (w.end((q1 - 1) * d) - haloStart + kvTile - 1) / kvTile;
            int warpStart = w.start(lo * d);
            int warpEnd = w.end((hi - 1) * d);
            for (int t = 0; t < tiles; t++) {
                int run = haloStart + t * kvTile + runOrigin;
                if (run < warpEnd && run + runExtent > warpStart) {
                    hits++;
                }
            }
        }
        return hits;
    }

    /** Extent of an aligned row-major run of {@code n} elements of a power-of-two box. */
    private static int[] subBox(int[] box, int n) {
        int e2 = Math.min(n, box[2]);
        int e1 = Math.min(n / e2, box[1]);
        return new int[] {n / (e1 * e2), e1, e2};
    }

    /** Row-major coordinates of element {@code index} of a box. */
    private static int[] unflatten(int index, int[] box) {
        return new int[] {index / (box[1] * box[2]), (index / box[2]) % box[1], index % box[2]};
    }

    /** Group length of the longest dilation group (group 0). */
    private static int longestGroup(AxisWindow w) {
        return w == null ? 1 : w.groupLength(0);
    }

    private static int tileCount(AxisWindow w, int tile) {
        return (longestGroup(w) + tile - 1) / tile;
    }

    /** Sum over the query tiles of one axis of the key/value tiles covering each one's halo. */
    private static long haloTileSum(AxisWindow w, int queryTile, int kvTile) {
        if (w == null) {
            return 1;
        }
        int lg = longestGroup(w);
        int d = w.dilation();
        long sum = 0;
        for (int q0 = 0; q0 < lg; q0 += queryTile) {
            int last = Math.min(q0 + queryTile, lg) - 1;
            int halo = w.end(last * d) - w.start(q0 * d);
            sum += (halo + kvTile - 1) / kvTile;
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

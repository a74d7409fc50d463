package ai.natten.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Runs everywhere: the tile plans' ranking and the plan-rank property. */
class TilePlanTest {

    private static final NaProblem PROBLEM_2D =
            NaProblem.builder()
                    .setOptions(
                            NaOptions.builder()
                                    .setKernelSize(13, 7)
                                    .optDilation(1, 2)
                                    .optCausal(true, false)
                                    .build())
                    .setBatch(1)
                    .setSpatialSize(96, 50)
                    .setHeads(2)
                    .setHeadDim(64)
                    .build();

    /**
     * The halo sums of the cost model against brute force on random axes (kernel, dilation, stride,
     * causal): per box of tiles along the axis, the tiles covering every query that sees one of its
     * keys (inverse, the dk/dv kernel) or every key one of its queries sees (forward).
     */
    @Test
    void haloSumsMatchBruteForce() {
        java.util.Random random = new java.util.Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int kernel = 2 + random.nextInt(9);
            int dilation = 1 + random.nextInt(3);
            int length = kernel * dilation + random.nextInt(60);
            int stride = 1 + random.nextInt(kernel);
            ai.natten.core.AxisWindow w =
                    new ai.natten.core.AxisWindow(
                            0, length, kernel, dilation, stride, random.nextBoolean());
            int box = 1 << random.nextInt(5);
            int walk = 1 << random.nextInt(5);
            int lg = w.groupLength(0);
            long forward = 0;
            long inverse = 0;
            for (int b0 = 0; b0 < lg; b0 += box) {
                int lo = Integer.MAX_VALUE;
                int hi = -1;
                int inverseLo = Integer.MAX_VALUE;
                int inverseHi = -1;
                for (int i = b0; i < Math.min(b0 + box, lg); i++) {
                    for (int j = 0; j < lg; j++) {
                        if (w.contains(i * dilation, j * dilation)) {
                            lo = Math.min(lo, j); // box rows as queries: keys they see
                            hi = Math.max(hi, j);
                        }
                        if (w.contains(j * dilation, i * dilation)) {
                            inverseLo = Math.min(inverseLo, j); // box rows as keys: their queries
                            inverseHi = Math.max(inverseHi, j);
                        }
                    }
                }
                forward += (hi - lo + walk) / walk;
                inverse += inverseHi < 0 ? 0 : (inverseHi - inverseLo + walk) / walk;
            }
            String what = w + " box " + box + " walk " + walk;
            assertEquals(forward, TilePlan.haloTileSum(w, box, walk, false), what);
            assertEquals(inverse, TilePlan.haloTileSum(w, box, walk, true), what);
        }
    }

    @Test
    void dkdvRankingWeighsTheInverseHalo() {
        // 3-D, causal in time, small windows: the forward's cheapest plan is not the dk/dv one's
        NaProblem causal =
                NaProblem.builder()
                        .setOptions(
                                NaOptions.builder()
                                        .setKernelSize(5, 9, 9)
                                        .optCausal(true, false, false)
                                        .build())
                        .setBatch(1)
                        .setSpatialSize(16, 32, 32)
                        .setHeads(1)
                        .setHeadDim(128)
                        .build();
        List<TilePlan> forward = TilePlan.ranked(causal, 64, 64, false);
        List<TilePlan> inverse = TilePlan.ranked(causal, 64, 64, true);
        assertEquals(
                new HashSet<>(forward), new HashSet<>(inverse)); // the same plans, ranked otherwise
        for (int r = 1; r < inverse.size(); r++) {
            assertTrue(inverse.get(r - 1).inverseCost() <= inverse.get(r).inverseCost());
        }
        assertTrue(inverse.get(0).inverseCost() < forward.get(0).inverseCost());
        assertSame(inverse.get(0), TilePlan.chooseInverse(causal, 64, 64));
        assertSame(forward.get(0), BackwardLaunch.dqPlan(causal));
        assertSame(inverse.get(0), BackwardLaunch.keyPlan(causal));
    }

    @AfterEach
    void clearRank() {
        System.clearProperty("natten.cuda.planRank");
    }

    @Test
    void everyPairOfBoxesIsRankedCheapestFirst() {
        List<TilePlan> plans = TilePlan.ranked(PROBLEM_2D, 64, 64, false);
        // rank 2 pads to 3 axes with extent 1 on the first: 7 boxes a*b = 64 per tile size
        assertEquals(49, plans.size());
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < plans.size(); i++) {
            TilePlan plan = plans.get(i);
            assertEquals(1, plan.queryTile()[0]);
            assertEquals(64, Arrays.stream(plan.queryTile()).reduce(1, (x, y) -> x * y));
            assertEquals(64, Arrays.stream(plan.kvTile()).reduce(1, (x, y) -> x * y));
            assertTrue(distinct.add(plan.toString()), "repeated " + plan);
            if (i > 0) {
                assertTrue(plans.get(i - 1).cost() <= plan.cost(), "order at " + i);
            }
        }
        assertTrue(plans.get(0).cost() < plans.get(plans.size() - 1).cost());
    }

    @Test
    void planRankPicksFromTheRanking() {
        List<TilePlan> plans = TilePlan.ranked(PROBLEM_2D, 128, 64, false);
        assertSame(plans.get(0), TilePlan.choose(PROBLEM_2D, 128, 64));
        System.setProperty("natten.cuda.planRank", "5");
        assertSame(plans.get(5), TilePlan.choose(PROBLEM_2D, 128, 64));
        System.setProperty("natten.cuda.planRank", "" + plans.size());
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> TilePlan.choose(PROBLEM_2D, 128, 64));
        assertTrue(e.getMessage().contains("natten.cuda.planRank"), e.getMessage());
    }
}

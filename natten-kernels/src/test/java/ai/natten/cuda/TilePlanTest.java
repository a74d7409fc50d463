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

    @AfterEach
    void clearRank() {
        System.clearProperty("natten.cuda.planRank");
    }

    @Test
    void everyPairOfBoxesIsRankedCheapestFirst() {
        List<TilePlan> plans = TilePlan.ranked(PROBLEM_2D, 64, 64);
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
        List<TilePlan> plans = TilePlan.ranked(PROBLEM_2D, 128, 64);
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

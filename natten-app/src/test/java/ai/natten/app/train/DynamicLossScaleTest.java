package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DynamicLossScaleTest {

    @Test
    void fp32NeverScales() {
        DynamicLossScale scale = DynamicLossScale.forPrecision(Precision.FP32);
        Random random = new Random();
        for (int step = 0; step < 5000; step++) {
            scale.update(random.nextBoolean());
        }
        assertEquals(1f, scale.scale());
        assertEquals(0, scale.goodSteps());
    }

    @Test
    void fp16HalvesOnOverflowAndDoublesAfterTheGrowthInterval() {
        DynamicLossScale scale = DynamicLossScale.forPrecision(Precision.FP16);
        assertEquals(65536f, scale.scale());
        scale.update(false);
        scale.update(false);
        assertEquals(16384f, scale.scale());
        for (int step = 1; step < DynamicLossScale.GROWTH_INTERVAL; step++) {
            scale.update(true);
        }
        assertEquals(16384f, scale.scale());
        assertEquals(DynamicLossScale.GROWTH_INTERVAL - 1, scale.goodSteps());
        scale.update(true);
        assertEquals(32768f, scale.scale());
        assertEquals(0, scale.goodSteps());
        scale.update(true);
        scale.update(false); // an overflow also restarts the count
        assertEquals(16384f, scale.scale());
        assertEquals(0, scale.goodSteps());
    }

    @Test
    void neverFallsBelowOne() {
        DynamicLossScale scale = DynamicLossScale.forPrecision(Precision.FP16);
        for (int step = 0; step < 40; step++) {
            scale.update(false);
        }
        assertEquals(1f, scale.scale());
    }

    @Test
    void restoresACheckpointAndRejectsNonsense() {
        DynamicLossScale scale = DynamicLossScale.forPrecision(Precision.FP16);
        scale.restore(512f, DynamicLossScale.GROWTH_INTERVAL - 1);
        scale.update(true);
        assertEquals(1024f, scale.scale());
        assertThrows(IllegalArgumentException.class, () -> scale.restore(0.5f, 0));
        assertThrows(IllegalArgumentException.class, () -> scale.restore(Float.NaN, 0));
        assertThrows(IllegalArgumentException.class, () -> scale.restore(8f, -1));
        assertThrows(
                IllegalArgumentException.class,
                () -> scale.restore(8f, DynamicLossScale.GROWTH_INTERVAL));
    }
}

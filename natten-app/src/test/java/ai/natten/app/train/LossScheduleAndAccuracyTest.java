package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LossScheduleAndAccuracyTest {

    @Test
    void labelSmoothingMatchesTheDefinition() {
        Random random = new Random(3);
        int b = 4;
        int k = 5;
        float[] logits = new float[b * k];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (3 * random.nextGaussian());
        }
        long[] labels = {0, 4, 2, 2};
        float epsilon = 0.1f;
        double expected = 0;
        for (int row = 0; row < b; row++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, logits[row * k + c]);
            }
            double sum = 0;
            for (int c = 0; c < k; c++) {
                sum += Math.exp(logits[row * k + c] - max);
            }
            for (int c = 0; c < k; c++) {
                double logP = logits[row * k + c] - max - Math.log(sum);
                double target = (c == labels[row] ? 1 - epsilon : 0) + epsilon / k;
                expected -= target * logP / b;
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray loss =
                    new LabelSmoothingLoss(epsilon)
                            .evaluate(
                                    new NDList(manager.create(labels)),
                                    new NDList(manager.create(logits, new Shape(b, k))));
            assertEquals(expected, loss.getFloat(), 1e-5);
        }
        assertThrows(IllegalArgumentException.class, () -> new LabelSmoothingLoss(1f));
    }

    @Test
    void float16LogitsGetTheGradientOfTheFloat32Loss() {
        Random random = new Random(5);
        int b = 3;
        int k = 4;
        float[] values = new float[b * k];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        long[] labels = {1, 3, 0};
        float epsilon = 0.1f;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray logits =
                    manager.create(values, new Shape(b, k)).toType(DataType.FLOAT16, false);
            logits.setRequiresGradient(true);
            try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
                collector.backward(
                        new LabelSmoothingLoss(epsilon)
                                .evaluate(new NDList(manager.create(labels)), new NDList(logits)));
            }
            float[] gradient = logits.getGradient().toType(DataType.FLOAT32, false).toFloatArray();
            float[] half = logits.toType(DataType.FLOAT32, false).toFloatArray();
            // d loss / d logit = (softmax - smoothed target) / B
            for (int row = 0; row < b; row++) {
                double sum = 0;
                for (int c = 0; c < k; c++) {
                    sum += Math.exp(half[row * k + c]);
                }
                for (int c = 0; c < k; c++) {
                    double target = (c == labels[row] ? 1 - epsilon : 0) + epsilon / k;
                    double expected = (Math.exp(half[row * k + c]) / sum - target) / b;
                    assertEquals(
                            expected, gradient[row * k + c], 1e-3, "row " + row + " class " + c);
                }
            }
        }
    }

    @Test
    void scheduleWarmsUpLinearlyThenFollowsTheCosine() {
        WarmupCosineSchedule schedule = new WarmupCosineSchedule(1f, 0.1f, 4, 14);
        assertEquals(0.25f, schedule.getNewValue(0), 1e-6f);
        assertEquals(1f, schedule.getNewValue(3), 1e-6f);
        assertEquals(1f, schedule.getNewValue(4), 1e-6f);
        // halfway through the 10 decay steps (progress 4.5 / 9 = 0.5): the middle of the cosine
        assertEquals(0.55f, (schedule.getNewValue(8) + schedule.getNewValue(9)) / 2, 0.02f);
        assertEquals(0.1f, schedule.getNewValue(13), 1e-6f);
        assertThrows(IllegalArgumentException.class, () -> new WarmupCosineSchedule(1f, 0f, 5, 5));
    }

    @Test
    void topKCountsLabelsAmongTheHighestLogits() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray logits =
                    manager.create(
                            new float[] {
                                0.1f, 0.9f, 0.5f, 0.2f, 0.3f, 0.0f,
                                0.6f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f,
                                0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f
                            },
                            new Shape(3, 6));
            // row 0: label 1 is first; row 1: label 5 is second; row 2: label 0 is last
            assertArrayEquals(
                    new long[] {1, 2, 2}, TopK.hits(logits, new long[] {1, 5, 0}, 1, 2, 5));
        }
    }
}

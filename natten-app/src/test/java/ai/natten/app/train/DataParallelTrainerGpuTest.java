package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import ai.natten.app.data.HostBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Data parallel training against one device, on the GPU machine (skipped without a GPU: DJL folds
 * every CPU device id into one device, so two devices need a GPU): the first GPU with the CPU, and
 * the first two GPUs where there are two. Each pair must take the steps one GPU takes.
 */
@Tag("gpu")
class DataParallelTrainerGpuTest {

    private static final int SIDE = 4;
    private static final int CLASSES = 5;

    static Stream<Arguments> pairs() {
        return Stream.of(
                Arguments.of(1, new Device[] {Device.gpu(0), Device.cpu()}),
                Arguments.of(2, new Device[] {Device.gpu(0), Device.gpu(1)}));
    }

    @ParameterizedTest
    @MethodSource("pairs")
    void twoDevicesTakeTheSameStepsAsOne(int gpus, Device[] devices) {
        requireGpus(gpus);
        HostBatch[] batches = {
            HostBatch.random(7, SIDE, CLASSES, 1),
            HostBatch.random(6, SIDE, CLASSES, 2),
            HostBatch.random(9, SIDE, CLASSES, 3)
        };
        Device[] one = {Device.gpu(0)};
        List<float[]> initial = parametersAfter(one, new HostBatch[0]);
        List<float[]> single = parametersAfter(one, batches);
        List<float[]> parallel = parametersAfter(devices, batches);
        for (int p = 0; p < single.size(); p++) {
            // Adam steps are about lr = 0.05 each: a wrong gradient or a stale mirror is off by
            // that
            assertArrayEquals(single.get(p), parallel.get(p), 1e-3f, "parameter " + p);
            double moved = 0;
            for (int i = 0; i < single.get(p).length; i++) {
                moved = Math.max(moved, Math.abs(single.get(p)[i] - initial.get(p)[i]));
            }
            assertTrue(moved > 2e-2, "parameter " + p + " did not move: " + moved);
        }
    }

    @ParameterizedTest
    @MethodSource("pairs")
    void twoDevicesReportTheBatchLossAndAccuracyOfOne(int gpus, Device[] devices) {
        requireGpus(gpus);
        HostBatch batch = HostBatch.random(11, SIDE, CLASSES, 4);
        DataParallelTrainer.StepResult one = firstStep(new Device[] {Device.gpu(0)}, batch);
        DataParallelTrainer.StepResult two = firstStep(devices, batch);
        assertEquals(one.loss(), two.loss(), 1e-5);
        assertEquals(one.correct(), two.correct());
        assertEquals(one.gradientNorm(), two.gradientNorm(), 1e-4 * one.gradientNorm());
        assertTrue(one.loss() > 0.5, "loss " + one.loss());
    }

    private static void requireGpus(int count) {
        int available = Engine.getInstance().getGpuCount();
        assumeTrue(available >= count, count + " GPUs needed, " + available + " found");
    }

    private static List<float[]> parametersAfter(Device[] devices, HostBatch[] batches) {
        try (Model model = newModel();
                DataParallelTrainer trainer = newTrainer(model, devices)) {
            for (HostBatch batch : batches) {
                trainer.trainStep(batch);
            }
            List<float[]> values = new ArrayList<>();
            for (Pair<String, Parameter> pair : model.getBlock().getParameters()) {
                values.add(pair.getValue().getArray().toFloatArray());
            }
            return values;
        }
    }

    private static DataParallelTrainer.StepResult firstStep(Device[] devices, HostBatch batch) {
        try (Model model = newModel();
                DataParallelTrainer trainer = newTrainer(model, devices)) {
            return trainer.trainStep(batch);
        }
    }

    private static Model newModel() {
        Model model = Model.newInstance("data-parallel", Device.gpu(0), "PyTorch");
        SequentialBlock block =
                new SequentialBlock()
                        .add(Blocks.batchFlattenBlock())
                        .add(Linear.builder().setUnits(8).build())
                        .add(list -> new NDList(list.singletonOrThrow().tanh()))
                        .add(Linear.builder().setUnits(CLASSES).build());
        model.setBlock(block);
        model.getNDManager().getEngine().setRandomSeed(11);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, SIDE, SIDE));
        return model;
    }

    private static DataParallelTrainer newTrainer(Model model, Device[] devices) {
        ResumableAdamW optimizer =
                ResumableAdamW.builder().setLearningRateTracker(Tracker.fixed(0.05f)).build();
        return new DataParallelTrainer(
                model, devices, optimizer, new LabelSmoothingLoss(0.1f), 1f, Precision.FP32);
    }
}

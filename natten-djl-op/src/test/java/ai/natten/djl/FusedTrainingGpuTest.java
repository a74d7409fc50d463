package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import ai.natten.core.NaOptions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A DJL {@link Trainer} trains a small neighborhood-attention model on the GPU through {@link
 * EasyTrain} with the fused backend, and its per-step losses follow the composite backend's run
 * from the same initialization on the same batches.
 */
@GpuTest
class FusedTrainingGpuTest {

    static final int STEPS = 20;
    private static final int BATCH = 8;
    private static final int SIZE = 14;
    private static final int CHANNELS = 32;
    private static final int HEADS = 2;
    private static final int HEAD_DIM = 16;
    private static final int CLASSES = 10;

    @Test
    void fusedTrainingFollowsComposite() {
        GpuTest.Condition.require();
        float[] composite = train(NaBackend.COMPOSITE);
        float[] fused = train(NaBackend.FUSED);
        for (int step = 0; step < STEPS; step++) {
            float relative = Math.abs(fused[step] - composite[step]) / Math.abs(composite[step]);
            assertTrue(
                    relative < 1e-3,
                    "step " + step + ": fused " + fused[step] + ", composite " + composite[step]);
        }
        assertTrue(
                fused[STEPS - 1] < 0.5f * fused[0],
                "the loss falls: " + fused[0] + " -> " + fused[STEPS - 1]);
        System.out.println("losses composite " + java.util.Arrays.toString(composite));
        System.out.println("losses fused     " + java.util.Arrays.toString(fused));
    }

    /** Trains from seed 7 on fixed batches and returns the loss of each step. */
    static float[] train(NaBackend backend) {
        Device gpu = Device.gpu(0);
        Engine.getInstance().setRandomSeed(7);
        try (Model model = Model.newInstance("na-tiny-" + backend, gpu)) {
            model.setBlock(model(backend));
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.l2Loss())
                            .optOptimizer(
                                    Optimizer.sgd()
                                            .setLearningRateTracker(Tracker.fixed(0.5f))
                                            .build())
                            .optDevices(new Device[] {gpu});
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(BATCH, SIZE, SIZE, CHANNELS));
                NDManager manager = trainer.getManager();
                List<Batch> batches = batches(manager);
                float[] losses = new float[STEPS];
                for (int step = 0; step < STEPS; step++) {
                    Batch batch = batches.get(step % batches.size());
                    NDArray x = batch.getData().singletonOrThrow();
                    NDArray y = batch.getLabels().singletonOrThrow();
                    EasyTrain.trainBatch(trainer, batch);
                    trainer.step();
                    try (NDManager scope = manager.newSubManager()) {
                        NDArray prediction = trainer.evaluate(new NDList(x)).singletonOrThrow();
                        losses[step] =
                                trainer.getLoss()
                                        .evaluate(new NDList(y), new NDList(prediction))
                                        .getFloat();
                        prediction.close();
                    }
                }
                assertEquals(STEPS, losses.length);
                return losses;
            }
        }
    }

    /** Linear to q, k, v; 2-D NA (k=5, dilation 2); linear; mean over space; linear. */
    static Block model(NaBackend backend) {
        NaOptions options = NaOptions.builder().setKernelSize(5).optDilation(2).build();
        NaExtras extras = NaExtras.builder().optBackend(backend).build();
        return new SequentialBlock()
                .add(Linear.builder().setUnits(3L * HEADS * HEAD_DIM).build())
                .add(
                        new LambdaBlock(
                                list -> {
                                    NDArray qkv = list.singletonOrThrow();
                                    Shape s = qkv.getShape();
                                    NDList parts =
                                            qkv.reshape(
                                                            s.get(0), s.get(1), s.get(2), 3, HEADS,
                                                            HEAD_DIM)
                                                    .split(3, 3);
                                    NDArray out =
                                            NeighborhoodAttention.na2d(
                                                    parts.get(0).squeeze(3),
                                                    parts.get(1).squeeze(3),
                                                    parts.get(2).squeeze(3),
                                                    options,
                                                    extras);
                                    return new NDList(
                                            out.reshape(
                                                    s.get(0),
                                                    s.get(1),
                                                    s.get(2),
                                                    HEADS * HEAD_DIM));
                                },
                                "na2d"))
                .add(Linear.builder().setUnits(CHANNELS).build())
                .add(
                        new LambdaBlock(
                                list ->
                                        new NDList(
                                                list.singletonOrThrow()
                                                        .mean(new int[] {2})
                                                        .mean(new int[] {1}))))
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    /**
     * Four fixed batches of random inputs and targets near 1 (seeded, so both runs see the same).
     */
    private static List<Batch> batches(NDManager manager) {
        Engine.getInstance().setRandomSeed(11);
        List<Batch> batches = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            NDArray x = manager.randomNormal(new Shape(BATCH, SIZE, SIZE, CHANNELS));
            NDArray y =
                    manager.randomNormal(0, 0.1f, new Shape(BATCH, CLASSES), x.getDataType())
                            .add(1);
            batches.add(
                    new Batch(
                            manager,
                            new NDList(x),
                            new NDList(y),
                            BATCH,
                            Batchifier.STACK,
                            Batchifier.STACK,
                            i,
                            4));
        }
        return batches;
    }
}

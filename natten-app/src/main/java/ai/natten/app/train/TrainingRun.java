package ai.natten.app.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.natten.app.data.BatchLoader;
import ai.natten.app.data.CenterCrop;
import ai.natten.app.data.DatasetSplits;
import ai.natten.app.data.HostBatch;
import ai.natten.app.data.RandomResizedCrop;
import ai.natten.app.model.ModelCard;
import ai.natten.app.model.ModelRegistry;
import ai.natten.app.model.SavedModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * A whole training run: builds the model, trains epoch after epoch with validation, logs, plots and
 * checkpoints after each, and finally saves the model in {@code <run>/model}.
 *
 * <p>A run is a pure function of its {@link RunConfig}: the engine's generator (initialization,
 * drop path, dropout) is reseeded from {@code (seed, epoch)} at every epoch start and the data
 * order and augmentation derive from the same pair, so resuming from an epoch's checkpoint
 * reproduces the uninterrupted run.
 */
public final class TrainingRun {

    private final RunConfig config;
    private final DatasetSplits data;
    private final Device[] devices;
    private final int workers;
    private final int keepCheckpoints;
    private final PrintStream out;

    /**
     * Prepares a run.
     *
     * @param config the settings (written to {@code run.json})
     * @param data the training and validation sets
     * @param devices the devices, data parallel when several
     * @param workers image decoding threads
     * @param keepCheckpoints how many epoch checkpoints to keep
     * @param out where progress and summaries go
     */
    public TrainingRun(
            RunConfig config,
            DatasetSplits data,
            Device[] devices,
            int workers,
            int keepCheckpoints,
            PrintStream out) {
        config.recipe().precision().checkSupported(devices);
        if (!data.train().classes().equals(config.classes())) {
            throw new IllegalArgumentException(
                    "the dataset's classes "
                            + data.train().classes()
                            + " differ from the run's "
                            + config.classes());
        }
        this.config = config;
        this.data = data;
        this.devices = devices.clone();
        this.workers = workers;
        this.keepCheckpoints = keepCheckpoints;
        this.out = out;
    }

    /**
     * Trains from scratch, or from the newest checkpoint of the run directory when resuming.
     *
     * @param runDirectory where logs, checkpoints and the final model go
     * @param resume continue from the newest checkpoint instead of starting anew
     * @return the per-epoch log
     */
    public RunLog run(Path runDirectory, boolean resume) throws IOException {
        TrainingRecipe recipe = config.recipe();
        Files.createDirectories(runDirectory);
        if (!resume) {
            config.write(runDirectory);
        }
        Engine engine = Engine.getInstance();
        engine.setRandomSeed(seedOf(recipe.seed(), -1));
        int side = config.model().imageSize();
        try (Model model = Model.newInstance("natten", devices[0], "PyTorch");
                BatchLoader trainLoader =
                        new BatchLoader(
                                data.train(),
                                new RandomResizedCrop(
                                        side,
                                        recipe.minCropScale(),
                                        recipe.flip(),
                                        config.normalization()),
                                recipe.batchSize(),
                                true,
                                recipe.seed(),
                                workers);
                BatchLoader valLoader =
                        new BatchLoader(
                                data.validation(),
                                new CenterCrop(side, recipe.cropFraction(), config.normalization()),
                                recipe.batchSize(),
                                false,
                                recipe.seed(),
                                workers)) {
            Block block = ModelRegistry.create(config.model());
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, side, side));
            if (recipe.precision() != Precision.FP32) {
                ParameterCast.cast(block, recipe.precision().dataType());
            }
            Checkpoint.State state = null;
            Path checkpoint = null;
            if (resume) {
                checkpoint = Checkpoint.latest(runDirectory);
                state = Checkpoint.loadParameters(checkpoint, model);
                out.println("resuming from " + checkpoint + " (epoch " + state.epochs() + ")");
            }
            int stepsPerEpoch = trainLoader.batchesPerEpoch();
            int totalSteps = recipe.epochs() * stepsPerEpoch;
            int warmup =
                    (int)
                            Math.min(
                                    totalSteps - 1,
                                    Math.round(recipe.warmupEpochs() * stepsPerEpoch));
            WarmupCosineSchedule schedule =
                    new WarmupCosineSchedule(
                            recipe.learningRate(), recipe.minLearningRate(), warmup, totalSteps);
            ResumableAdamW optimizer =
                    ResumableAdamW.builder()
                            .setLearningRateTracker(schedule)
                            .optDecoupledWeightDecay(recipe.weightDecay())
                            .optNoDecay(positionalBiases(block))
                            .build();
            try (DataParallelTrainer trainer =
                    new DataParallelTrainer(
                            model,
                            devices,
                            optimizer,
                            new LabelSmoothingLoss(recipe.labelSmoothing()),
                            recipe.clipNorm(),
                            recipe.precision())) {
                int firstEpoch = 0;
                long step = 0;
                RunLog log = RunLog.create(runDirectory);
                if (state != null) {
                    Checkpoint.loadOptimizer(checkpoint, state, trainer, model.getNDManager());
                    firstEpoch = state.epochs();
                    step = state.globalStep();
                    log = RunLog.resume(runDirectory, firstEpoch);
                }
                out.printf(
                        Locale.ROOT,
                        "training %s on %s: %d images/epoch, validating on %s, devices %s%n",
                        config.model().architecture(),
                        data.train().describe(),
                        trainLoader.imagesPerEpoch(),
                        data.validation().describe(),
                        java.util.Arrays.toString(devices));
                for (int epoch = firstEpoch; epoch < recipe.epochs(); epoch++) {
                    engine.setRandomSeed(seedOf(recipe.seed(), epoch));
                    long start = System.nanoTime();
                    ProgressBar bar =
                            new ProgressBar(
                                    String.format(
                                            Locale.ROOT, "epoch %d/%d", epoch + 1, recipe.epochs()),
                                    trainLoader.imagesPerEpoch(),
                                    out);
                    double lossSum = 0;
                    long correct = 0;
                    long seen = 0;
                    Iterator<HostBatch> batches = trainLoader.epoch(epoch);
                    while (batches.hasNext()) {
                        HostBatch batch = batches.next();
                        DataParallelTrainer.StepResult result = trainer.trainStep(batch);
                        step++;
                        lossSum += result.loss() * batch.size();
                        correct += result.correct();
                        seen += batch.size();
                        bar.advance(batch.size(), lossSum / seen);
                    }
                    double trainSeconds = (System.nanoTime() - start) / 1e9;
                    Evaluation val = trainer.evaluate(valLoader.epoch(0));
                    double seconds = (System.nanoTime() - start) / 1e9;
                    EpochRecord record =
                            new EpochRecord(
                                    epoch + 1,
                                    lossSum / seen,
                                    (double) correct / seen,
                                    val.loss(),
                                    val.top1(),
                                    val.top5(),
                                    schedule.getNewValue((int) step - 1),
                                    seconds,
                                    seen / trainSeconds);
                    log.append(record);
                    out.printf(
                            Locale.ROOT,
                            "epoch %d/%d: train loss %.4f top-1 %.2f%% | val loss %.4f top-1"
                                    + " %.2f%% top-5 %.2f%% | %.1f img/s, %.1f s%n",
                            epoch + 1,
                            recipe.epochs(),
                            record.trainLoss(),
                            100 * record.trainTop1(),
                            record.valLoss(),
                            100 * record.valTop1(),
                            100 * record.valTop5(),
                            record.imagesPerSecond(),
                            seconds);
                    Checkpoint.save(runDirectory, epoch + 1, step, model, trainer, keepCheckpoints);
                }
                if (recipe.precision() != Precision.FP32) {
                    ParameterCast.cast(block, DataType.FLOAT32);
                }
                SavedModel.save(
                        runDirectory.resolve("model"),
                        model,
                        ModelCard.of(
                                config.model(),
                                config.classes(),
                                config.normalization(),
                                recipe.cropFraction()));
                return log;
            }
        }
    }

    /** Relative positional bias tables take no weight decay (as in NAT/DiNAT's recipe). */
    private static Set<String> positionalBiases(Block block) {
        Set<String> ids = new HashSet<>();
        for (Pair<String, Parameter> pair : block.getParameters()) {
            String name = pair.getKey().toLowerCase(Locale.ROOT);
            if (name.contains("rpb") || name.contains("relative_position")) {
                ids.add(pair.getValue().getId());
            }
        }
        return ids;
    }

    private static int seedOf(long seed, int epoch) {
        long z = seed * 0x9E3779B97F4A7C15L + (epoch + 1) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 31)) * 0x94D049BB133111EBL;
        return (int) (z ^ (z >>> 32)) & Integer.MAX_VALUE;
    }
}

package ai.natten.app.cli;

import ai.djl.Device;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import ai.natten.app.data.DatasetSplits;
import ai.natten.app.model.ModelSpec;
import ai.natten.app.model.SavedModel;
import ai.natten.app.train.Precision;
import ai.natten.app.train.RunConfig;
import ai.natten.app.train.TrainingRecipe;
import ai.natten.app.train.TrainingRun;
import ai.natten.djl.NaBackend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code natten train}: trains a classifier, then reloads it through Criteria and predicts. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Train an image classifier with the ImageNet recipe (AdamW, warm-up + cosine, label"
                    + " smoothing, RandomResizedCrop + flip, gradient clipping, stochastic depth).",
            "With no dataset option it trains a small NAT on the Fashion-MNIST subset shipped with"
                    + " the application; defaults marked (fashion/folder) depend on the dataset."
        })
final class TrainCommand implements Callable<Integer> {

    @ParentCommand NattenCommand parent;

    @Mixin DataOptions dataOptions = new DataOptions();

    @Mixin RuntimeOptions runtime = new RuntimeOptions();

    @Option(
            names = "--model",
            paramLabel = "NAME",
            description =
                    "architecture (fashion: "
                            + ModelDefaults.FASHION
                            + ", folder: "
                            + ModelDefaults.IMAGENET
                            + "); see natten models")
    String model;

    @Option(names = "--image-size", description = "input side (fashion 28, folder 224)")
    Integer imageSize;

    @Option(names = "--epochs", description = "epochs (fashion 12, folder 300)")
    Integer epochs;

    @Option(
            names = "--batch-size",
            description = "images per step over all devices (fashion 64, folder 128)")
    Integer batchSize;

    @Option(names = "--lr", description = "peak learning rate (fashion 2e-3, folder 1e-3)")
    Float learningRate;

    @Option(
            names = "--min-lr",
            defaultValue = "1e-5",
            description = "final learning rate (${DEFAULT-VALUE})")
    float minLearningRate;

    @Option(
            names = "--weight-decay",
            defaultValue = "0.05",
            description = "AdamW decoupled weight decay (${DEFAULT-VALUE})")
    float weightDecay;

    @Option(
            names = "--warmup-epochs",
            description = "linear warm-up epochs (fashion 1, folder 20; at most half the epochs)")
    Double warmupEpochs;

    @Option(names = "--label-smoothing", defaultValue = "0.1", description = "(${DEFAULT-VALUE})")
    float labelSmoothing;

    @Option(
            names = "--clip-grad",
            defaultValue = "5.0",
            description = "global gradient-norm limit, 0 = off (${DEFAULT-VALUE})")
    float clipGrad;

    @Option(names = "--drop-path", description = "stochastic depth rate (fashion 0, folder 0.2)")
    Float dropPath;

    @Option(
            names = "--min-crop-scale",
            description = "RandomResizedCrop's smallest area fraction (fashion 0.85, folder 0.08)")
    Double minCropScale;

    @Option(names = "--no-flip", description = "no random horizontal flip")
    boolean noFlip;

    @Option(
            names = "--crop-fraction",
            description = "evaluation center-crop fraction (fashion 1.0, folder 0.875)")
    Double cropFraction;

    @Option(names = "--seed", defaultValue = "42", description = "(${DEFAULT-VALUE})")
    long seed;

    @Option(
            names = "--precision",
            defaultValue = "fp32",
            description = "fp32 or fp16 (GPU); bf16 is refused on DJL 0.35.1 (${DEFAULT-VALUE})")
    String precision;

    @Option(
            names = "--backend",
            defaultValue = "auto",
            description =
                    "neighborhood attention backend: auto, composite, fused (${DEFAULT-VALUE})")
    String backend;

    @Option(
            names = "--output",
            paramLabel = "DIR",
            description = "run directory (default runs/<dataset>-<time>)")
    Path output;

    @Option(
            names = "--resume",
            paramLabel = "RUN_DIR",
            description = "continue a run from its newest checkpoint, with its saved settings")
    Path resume;

    @Option(
            names = "--keep-checkpoints",
            defaultValue = "2",
            description = "epoch checkpoints kept (${DEFAULT-VALUE})")
    int keepCheckpoints;

    @Option(
            names = "--show-predictions",
            defaultValue = "8",
            description = "test images whose predictions are printed at the end (${DEFAULT-VALUE})")
    int showPredictions;

    @Override
    public Integer call() throws IOException, TranslateException {
        PrintStream out = parent.out();
        Device[] devices = runtime.devices();
        RunConfig config;
        DatasetSplits data;
        Path runDirectory;
        if (resume != null) {
            runDirectory = resume;
            config = RunConfig.read(resume);
            data = DataOptions.load(config.dataset());
        } else {
            dataOptions.checkExclusive();
            data = dataOptions.load();
            config = newConfig(data);
            runDirectory = output != null ? output : defaultOutput();
            if (Files.isRegularFile(runDirectory.resolve("run.json"))) {
                throw new IllegalArgumentException(
                        "--output "
                                + runDirectory
                                + " already holds a run: continue it with --resume or choose"
                                + " another --output");
            }
        }
        long start = System.nanoTime();
        new TrainingRun(config, data, devices, runtime.workers(), keepCheckpoints, out)
                .run(runDirectory, resume != null);
        double seconds = (System.nanoTime() - start) / 1e9;
        Path modelDirectory = runDirectory.resolve("model");
        out.printf(Locale.ROOT, "trained in %.1f s; model saved to %s%n", seconds, modelDirectory);
        try (ZooModel<Image, Classifications> reloaded =
                SavedModel.load(modelDirectory, devices[0])) {
            Predictions.report(reloaded, config.classes(), data.validation(), showPredictions, out);
        }
        return 0;
    }

    private RunConfig newConfig(DatasetSplits data) {
        boolean fashion = dataOptions.isFashionMnist();
        String architecture =
                model != null ? model : (fashion ? ModelDefaults.FASHION : ModelDefaults.IMAGENET);
        int epochCount = or(epochs, fashion ? 12 : 300);
        ModelSpec modelSpec =
                new ModelSpec(
                        architecture,
                        data.train().classes().size(),
                        or(imageSize, fashion ? 28 : 224),
                        or(dropPath, fashion ? 0f : 0.2f),
                        parseBackend(backend));
        TrainingRecipe recipe =
                new TrainingRecipe(
                        epochCount,
                        or(batchSize, fashion ? 64 : 128),
                        or(learningRate, fashion ? 2e-3f : 1e-3f),
                        minLearningRate,
                        weightDecay,
                        // the default warm-up is capped at half the run, so short runs stay valid
                        or(warmupEpochs, Math.min(fashion ? 1.0 : 20.0, epochCount / 2.0)),
                        labelSmoothing,
                        clipGrad,
                        or(minCropScale, fashion ? 0.85 : 0.08),
                        !noFlip,
                        or(cropFraction, fashion ? 1.0 : 0.875),
                        seed,
                        Precision.parse(precision));
        return new RunConfig(
                dataOptions.id(),
                data.train().classes(),
                modelSpec,
                recipe,
                dataOptions.normalization().mean(),
                dataOptions.normalization().std());
    }

    private Path defaultOutput() {
        String name = dataOptions.isFashionMnist() ? "fashion-mnist" : "imagefolder";
        String time = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        return Path.of("runs", name + "-" + time);
    }

    static NaBackend parseBackend(String text) {
        try {
            return NaBackend.valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "--backend must be auto, composite or fused, got '" + text + "'", e);
        }
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }
}

package ai.natten.app.cli;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.tracker.Tracker;
import ai.natten.app.data.HostBatch;
import ai.natten.app.model.ModelRegistry;
import ai.natten.app.model.ModelSpec;
import ai.natten.app.train.DataParallelTrainer;
import ai.natten.app.train.LabelSmoothingLoss;
import ai.natten.app.train.ParameterCast;
import ai.natten.app.train.Precision;
import ai.natten.app.train.ResumableAdamW;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Unmatched;

/**
 * {@code natten bench}: images per second of inference and of training steps for a model, batch,
 * backend, precision and device set; with {@code --kernels}, the fused kernels' own benchmark.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Throughput (images/s) of inference and training steps of a model on random images.",
            "With --kernels [--backward], runs the fused kernels' benchmark"
                    + " (ai.natten.cuda.bench.KernelBench), passing on the remaining arguments."
        })
final class BenchCommand implements Callable<Integer> {

    /** The kernel benchmark's main class, in natten-kernels. */
    static final String KERNEL_BENCH = "ai.natten.cuda.bench.KernelBench";

    @ParentCommand NattenCommand parent;

    @Mixin RuntimeOptions runtime = new RuntimeOptions();

    @Option(
            names = "--model",
            defaultValue = "nat_mini",
            description = "architecture (${DEFAULT-VALUE})")
    String model;

    @Option(names = "--batch-size", defaultValue = "32", description = "(${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--image-size", defaultValue = "224", description = "(${DEFAULT-VALUE})")
    int imageSize;

    @Option(names = "--classes", defaultValue = "1000", description = "(${DEFAULT-VALUE})")
    int classes;

    @Option(
            names = "--backend",
            defaultValue = "auto",
            description = "auto, composite or fused (${DEFAULT-VALUE})")
    String backend;

    @Option(
            names = "--precision",
            defaultValue = "fp32",
            description = "fp32 or fp16 (${DEFAULT-VALUE})")
    String precision;

    @Option(
            names = "--warmup",
            defaultValue = "3",
            description = "untimed iterations (${DEFAULT-VALUE})")
    int warmup;

    @Option(
            names = "--iterations",
            defaultValue = "10",
            description = "timed iterations (${DEFAULT-VALUE})")
    int iterations;

    @Option(
            names = "--mode",
            defaultValue = "both",
            description = "inference, train or both (${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--kernels", description = "run the fused kernels' benchmark instead")
    boolean kernels;

    @Option(names = "--backward", description = "with --kernels: include the backward kernels")
    boolean backward;

    @Unmatched List<String> kernelArguments = new ArrayList<>();

    @Override
    public Integer call() throws ReflectiveOperationException {
        if (kernels) {
            return kernelBench();
        }
        if (!kernelArguments.isEmpty()) {
            throw new IllegalArgumentException("unknown bench arguments " + kernelArguments);
        }
        if (batchSize < 1 || warmup < 0 || iterations < 1) {
            throw new IllegalArgumentException(
                    "--batch-size and --iterations must be at least 1 and --warmup at least 0");
        }
        boolean inference = !mode.equals("train");
        boolean train = !mode.equals("inference");
        if (!List.of("inference", "train", "both").contains(mode)) {
            throw new IllegalArgumentException(
                    "--mode must be inference, train or both, got '" + mode + "'");
        }
        Device[] devices = runtime.devices();
        Precision format = Precision.parse(precision);
        format.checkSupported(devices);
        ModelSpec spec =
                new ModelSpec(model, classes, imageSize, 0.1f, TrainCommand.parseBackend(backend));
        PrintStream out = parent.out();
        try (Model djlModel = Model.newInstance("bench", devices[0], "PyTorch")) {
            Block block = ModelRegistry.create(spec);
            djlModel.setBlock(block);
            block.initialize(
                    djlModel.getNDManager(),
                    DataType.FLOAT32,
                    new Shape(1, 3, imageSize, imageSize));
            if (format != Precision.FP32) {
                ParameterCast.cast(block, format.dataType());
            }
            ResumableAdamW optimizer =
                    ResumableAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-4f)).build();
            try (DataParallelTrainer trainer =
                    new DataParallelTrainer(
                            djlModel,
                            devices,
                            optimizer,
                            new LabelSmoothingLoss(0.1f),
                            5f,
                            format)) {
                HostBatch batch = HostBatch.random(batchSize, imageSize, classes, 7);
                out.printf(
                        Locale.ROOT,
                        "%s, batch %d, %dx%d, %s, backend %s, devices %s%n",
                        model,
                        batchSize,
                        imageSize,
                        imageSize,
                        format,
                        spec.backend(),
                        java.util.Arrays.toString(devices));
                if (inference) {
                    report(out, "inference", measure(() -> trainer.evaluate(repeat(batch))));
                }
                if (train) {
                    report(out, "train step", measure(() -> trainer.trainStep(batch)));
                }
            }
        }
        return 0;
    }

    private double measure(Runnable iteration) {
        for (int i = 0; i < warmup; i++) {
            iteration.run();
        }
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            iteration.run(); // each iteration ends in a host read, so the device is synchronized
        }
        return (System.nanoTime() - start) / 1e9 / iterations;
    }

    private void report(PrintStream out, String what, double secondsPerBatch) {
        out.printf(
                Locale.ROOT,
                "%-10s %8.2f ms/batch %10.1f images/s%n",
                what,
                1000 * secondsPerBatch,
                batchSize / secondsPerBatch);
    }

    private static Iterator<HostBatch> repeat(HostBatch batch) {
        return List.of(batch).iterator();
    }

    private int kernelBench() throws ReflectiveOperationException {
        Class<?> bench;
        try {
            bench = Class.forName(KERNEL_BENCH);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException(
                    "--kernels: the fused kernels' benchmark "
                            + KERNEL_BENCH
                            + " is not in this build (it ships with natten-kernels' CUDA"
                            + " runtime)",
                    e);
        }
        List<String> arguments = new ArrayList<>(kernelArguments);
        if (backward) {
            arguments.add("--backward");
        }
        Method main = bench.getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) arguments.toArray(new String[0]));
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException runtimeException) {
                throw runtimeException;
            }
            throw e;
        }
        return 0;
    }
}

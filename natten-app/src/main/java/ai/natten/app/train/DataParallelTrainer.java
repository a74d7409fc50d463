package ai.natten.app.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterServer;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import ai.natten.app.data.HostBatch;
import ai.natten.djl.Scalars;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

/**
 * Trains and evaluates a classifier Block on one or more devices (data parallel): each batch is cut
 * into contiguous slices, one per device; every device runs forward and backward on its slice with
 * its own mirror of the parameters; the gradients, flattened into one array per device, are summed
 * on the first device, clipped by their global L2 norm, and every mirror takes the same
 * multi-tensor {@link ResumableAdamW} step. With several devices each device's forward and backward
 * run on a host thread of its own ({@link DeviceThreads}), so their engine calls are issued in
 * parallel.
 *
 * <p>Each slice's loss is weighted by its share of the batch, so the summed gradient is the full
 * batch's mean gradient whatever the device count. With {@link Precision#FP16} the loss is
 * multiplied by a {@link DynamicLossScale} before backward; a step whose gradients overflow is
 * skipped.
 */
public final class DataParallelTrainer implements AutoCloseable {

    private final Block block;
    private final Device[] devices;
    private final NDManager[] managers;
    private final ParameterStore store;
    private final List<Pair<String, Parameter>> trainable = new ArrayList<>();
    private final List<String> ids = new ArrayList<>();
    private final List<List<NDArray>> mirrors = new ArrayList<>();
    private final ResumableAdamW optimizer;
    private final Loss loss;
    private final float clipNorm;
    private final Precision precision;
    private final DynamicLossScale lossScale;
    private final DeviceThreads threads;

    /**
     * Prepares training of an initialized (or loaded) model.
     *
     * @param model the model, whose manager lives on {@code devices[0]}
     * @param devices the devices to train on, distinct
     * @param optimizer the optimizer
     * @param loss the training loss on logits {@code [B, K]} and labels {@code [B]}
     * @param clipNorm the largest global gradient norm; 0 or less disables clipping
     * @param precision the precision the model's parameters are in
     */
    public DataParallelTrainer(
            Model model,
            Device[] devices,
            ResumableAdamW optimizer,
            Loss loss,
            float clipNorm,
            Precision precision) {
        if (devices.length == 0) {
            throw new IllegalArgumentException("at least one device is needed");
        }
        if (!model.getNDManager().getDevice().equals(devices[0])) {
            throw new IllegalArgumentException(
                    "the model lives on "
                            + model.getNDManager().getDevice()
                            + " but the first device is "
                            + devices[0]);
        }
        this.block = model.getBlock();
        this.devices = devices.clone();
        this.optimizer = optimizer;
        this.loss = loss;
        this.clipNorm = clipNorm;
        this.precision = precision;
        this.lossScale = DynamicLossScale.forPrecision(precision);
        this.threads = new DeviceThreads(devices.length);
        this.managers = new NDManager[devices.length];
        managers[0] = model.getNDManager();
        for (int d = 1; d < devices.length; d++) {
            managers[d] = model.getNDManager().getEngine().newBaseManager(devices[d]);
        }
        this.store = new ParameterStore(model.getNDManager(), false);
        store.setParameterServer(new MirrorsOnly(), this.devices);
        for (int d = 0; d < this.devices.length; d++) {
            mirrors.add(new ArrayList<>());
        }
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter parameter = pair.getValue();
            if (parameter.requiresGradient()) {
                NDArray array = parameter.getArray();
                if (!array.hasGradient()) {
                    array.setRequiresGradient(true); // parameters read from a file have none
                }
                trainable.add(pair);
                ids.add(parameter.getId());
            }
            for (int d = 0; d < this.devices.length; d++) {
                // mirrors now, never inside a step; each owned by its device's manager, since DJL
                // creates an operation's scalars on the array's manager's device
                NDArray mirror = store.getValue(parameter, this.devices[d], true);
                if (d > 0) {
                    mirror.attach(managers[d]);
                }
                if (parameter.requiresGradient()) {
                    mirrors.get(d).add(mirror);
                }
            }
        }
    }

    /**
     * Trains on one batch.
     *
     * @param batch the images and labels
     * @return the batch's mean loss, gradient norm and whether the step was skipped
     */
    public StepResult trainStep(HostBatch batch) {
        List<Slice> slices = slices(batch);
        double lossSum = 0;
        long correct = 0;
        try (SliceManagers sliceManagers = new SliceManagers()) {
            // every device's forward and backward runs on its own thread; read back afterwards
            List<Future<NDArray[]>> outputs = new ArrayList<>();
            for (Slice slice : slices) {
                NDManager stepManager = sliceManagers.open(slice);
                outputs.add(
                        threads.submit(
                                slice.device(), () -> forwardBackward(batch, slice, stepManager)));
            }
            for (int i = 0; i < slices.size(); i++) {
                Slice slice = slices.get(i);
                NDArray[] lossAndPredictions = DeviceThreads.join(outputs.get(i));
                lossSum += lossAndPredictions[0].getFloat() * share(slice, batch);
                long[] predicted = lossAndPredictions[1].toLongArray();
                for (int row = 0; row < predicted.length; row++) {
                    correct += predicted[row] == slice.labels()[row] ? 1 : 0;
                }
            }
        }
        return applyGradients(lossSum, correct);
    }

    /**
     * One slice's forward, loss and backward, on its device's thread: PyTorch's grad mode is per
     * thread, and DJL's gradient collector (one per JVM) cannot serve several threads, so this sets
     * the mode and calls backward itself, as the collector would.
     *
     * @return the slice's loss (detached) and its predicted classes
     */
    private NDArray[] forwardBackward(HostBatch batch, Slice slice, NDManager manager) {
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try {
            NDList input = new NDList(images(manager, batch, slice));
            NDArray labels = manager.create(slice.labels());
            NDArray logits = block.forward(store, input, true).singletonOrThrow();
            NDArray sliceLoss = loss.evaluate(new NDList(labels), new NDList(logits));
            NDArray scaled = Scalars.multiply(sliceLoss, share(slice, batch) * lossScale.scale());
            NDArray seed = manager.ones(scaled.getShape(), scaled.getDataType());
            JniUtils.backward((PtNDArray) scaled, (PtNDArray) seed, false, false);
            return new NDArray[] {sliceLoss.stopGradient(), logits.argMax(1)};
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    private static float share(Slice slice, HostBatch batch) {
        return (float) slice.size() / batch.size();
    }

    private StepResult applyGradients(double meanLoss, long correct) {
        NDManager[] scratch = new NDManager[devices.length];
        for (int d = 0; d < devices.length; d++) {
            scratch[d] = managers[d].newSubManager();
        }
        try {
            NDArray sum = flatGradient(0, scratch[0]);
            for (int d = 1; d < devices.length; d++) {
                sum = sum.add(flatGradient(d, scratch[d]).toDevice(devices[0], false));
            }
            NDArray sum32 = sum.toType(DataType.FLOAT32, false);
            float scale = lossScale.scale();
            double norm = Math.sqrt(sum32.square().sum().getFloat()) / scale;
            boolean finite = Double.isFinite(norm);
            if (finite) {
                double clip = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1.0;
                optimizer.setGradientScale((float) (clip / scale));
                optimizer.update(ids, mirrors.get(0), sum32);
                for (int d = 1; d < devices.length; d++) {
                    NDArray copy = sum.toDevice(devices[d], true);
                    copy.attach(scratch[d]);
                    optimizer.update(ids, mirrors.get(d), copy);
                }
            }
            zeroGradients();
            lossScale.update(finite);
            return new StepResult(meanLoss, correct, norm, !finite);
        } finally {
            for (NDManager manager : scratch) {
                manager.close();
            }
        }
    }

    /** Returns one device's gradients flattened into one array owned by {@code scratch}. */
    private NDArray flatGradient(int device, NDManager scratch) {
        List<NDArray> gradients = new ArrayList<>(ids.size());
        for (NDArray mirror : mirrors.get(device)) {
            NDArray gradient = mirror.getGradient();
            gradient.attach(scratch);
            gradients.add(gradient);
        }
        return FlatArrays.concat(gradients);
    }

    private void zeroGradients() {
        for (List<NDArray> onDevice : mirrors) {
            for (NDArray mirror : onDevice) {
                JniUtils.zeroGrad((PtNDArray) mirror);
            }
        }
    }

    /**
     * Evaluates the model (inference mode: no dropout, no drop path) on batches.
     *
     * @param batches the batches, consumed
     * @return loss, top-1 and top-5 accuracy
     */
    public Evaluation evaluate(Iterator<HostBatch> batches) {
        double lossSum = 0;
        long top1 = 0;
        long top5 = 0;
        long images = 0;
        while (batches.hasNext()) {
            HostBatch batch = batches.next();
            List<Slice> slices = slices(batch);
            try (SliceManagers sliceManagers = new SliceManagers()) {
                // every device's forward runs on its own thread; read back afterwards
                List<Future<NDArray[]>> outputs = new ArrayList<>();
                for (Slice slice : slices) {
                    NDManager stepManager = sliceManagers.open(slice);
                    outputs.add(
                            threads.submit(
                                    slice.device(), () -> forward(batch, slice, stepManager)));
                }
                for (int i = 0; i < slices.size(); i++) {
                    Slice slice = slices.get(i);
                    NDArray[] lossAndLogits = DeviceThreads.join(outputs.get(i));
                    lossSum += lossAndLogits[0].getFloat() * slice.size();
                    long[] hits = TopK.hits(lossAndLogits[1], slice.labels(), 1, 5);
                    top1 += hits[0];
                    top5 += hits[1];
                }
            }
            images += batch.size();
        }
        if (images == 0) {
            throw new IllegalArgumentException("nothing to evaluate: the dataset is empty");
        }
        return new Evaluation(
                lossSum / images, (double) top1 / images, (double) top5 / images, images);
    }

    /** One slice's inference forward and loss, on its device's thread: {loss, logits}. */
    private NDArray[] forward(HostBatch batch, Slice slice, NDManager manager) {
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false); // a new thread starts with PyTorch's grad mode on
        try {
            NDArray logits =
                    block.forward(store, new NDList(images(manager, batch, slice)), false)
                            .singletonOrThrow();
            NDArray labels = manager.create(slice.labels());
            return new NDArray[] {loss.evaluate(new NDList(labels), new NDList(logits)), logits};
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /**
     * Exports the optimizer's state (first device's copy) keyed by parameter path names.
     *
     * @param steps receives each parameter's step count
     * @return the arrays, owned by the optimizer
     */
    public NDList exportOptimizerState(Map<String, Integer> steps) {
        return optimizer.exportState(parameterNames(), devices[0], steps);
    }

    /**
     * Restores the optimizer's state onto every device's mirror.
     *
     * @param arrays the exported arrays (named {@code <path>.m}, ...)
     * @param steps each parameter's step count
     * @throws IllegalArgumentException when a parameter's state is missing or mis-shaped
     */
    public void importOptimizerState(NDList arrays, Map<String, Integer> steps) {
        Map<String, NDArray> byName = new HashMap<>();
        for (NDArray array : arrays) {
            byName.put(array.getName(), array);
        }
        for (Pair<String, Parameter> pair : trainable) {
            Integer step = steps.get(pair.getKey());
            if (step == null) {
                throw new IllegalArgumentException(
                        "optimizer state has no entry for parameter " + pair.getKey());
            }
            for (Device device : devices) {
                optimizer.importState(
                        pair.getValue().getId(),
                        store.getValue(pair.getValue(), device, true),
                        byName,
                        pair.getKey(),
                        step);
            }
        }
    }

    /** Returns the fp16 loss scale (1 in fp32). */
    public float lossScale() {
        return lossScale.scale();
    }

    /** Restores the fp16 loss scale and its count of good steps. */
    public void restoreLossScale(float scale, int good) {
        lossScale.restore(scale, good);
    }

    /** Returns the good steps since the loss scale last changed. */
    public int goodSteps() {
        return lossScale.goodSteps();
    }

    private Map<String, String> parameterNames() {
        Map<String, String> names = new HashMap<>();
        for (Pair<String, Parameter> pair : trainable) {
            names.put(pair.getValue().getId(), pair.getKey());
        }
        return names;
    }

    /**
     * A parameter server that only makes DJL's {@link ParameterStore} create every device's mirror
     * on a parameter's first lookup (without a server the store keeps one array per parameter and
     * fails on the second device); updates go through {@link ResumableAdamW} directly.
     */
    private static final class MirrorsOnly implements ParameterServer {
        @Override
        public void init(String parameterId, NDArray[] value) {}

        @Override
        public void update(String parameterId, NDArray[] grads, NDArray[] params) {
            throw new UnsupportedOperationException("parameters are updated by ResumableAdamW");
        }

        @Override
        public void close() {}
    }

    /** The managers of one batch's slices, closed together once the results are read back. */
    private final class SliceManagers implements AutoCloseable {
        private final List<NDManager> open = new ArrayList<>();

        /** Returns a new manager on the slice's device, closed with this one. */
        NDManager open(Slice slice) {
            NDManager manager = managers[slice.device()].newSubManager();
            open.add(manager);
            return manager;
        }

        @Override
        public void close() {
            open.forEach(NDManager::close);
        }
    }

    /** A device's contiguous part of a batch: images {@code [from, to)} and their labels. */
    private record Slice(int device, int from, int to, long[] labels) {
        int size() {
            return to - from;
        }
    }

    /** Cuts a batch into one non-empty slice per device, the first devices taking the remainder. */
    private List<Slice> slices(HostBatch batch) {
        int size = batch.size();
        long[] labels = Arrays.stream(batch.labels()).asLongStream().toArray();
        List<Slice> slices = new ArrayList<>();
        int from = 0;
        for (int d = 0; d < devices.length; d++) {
            int to = from + size / devices.length + (d < size % devices.length ? 1 : 0);
            if (to > from) {
                slices.add(new Slice(d, from, to, Arrays.copyOfRange(labels, from, to)));
            }
            from = to;
        }
        return slices;
    }

    private NDArray images(NDManager manager, HostBatch batch, Slice slice) {
        int side = batch.imageSize();
        int floats = 3 * side * side;
        NDArray x =
                manager.create(
                        Arrays.copyOfRange(
                                batch.pixels(), slice.from() * floats, slice.to() * floats),
                        new Shape(slice.size(), 3, side, side));
        return precision == Precision.FP32 ? x : x.toType(precision.dataType(), false);
    }

    @Override
    public void close() {
        threads.close();
        for (int d = 1; d < managers.length; d++) {
            managers[d].close();
        }
    }

    /**
     * What one training step did.
     *
     * @param loss the batch's mean loss (before scaling)
     * @param correct the images whose highest logit was the label
     * @param gradientNorm the global L2 norm of the mean gradient, before clipping
     * @param skipped true when the gradients overflowed and no update was made (fp16)
     */
    public record StepResult(double loss, long correct, double gradientNorm, boolean skipped) {}
}

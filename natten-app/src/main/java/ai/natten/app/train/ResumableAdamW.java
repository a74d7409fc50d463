package ai.natten.app.train;

import static ai.natten.app.train.FlatArrays.ALL;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.tracker.Tracker;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * AdamW (Loshchilov and Hutter, PyTorch's formulation) over all parameters of a device at once,
 * whose whole state can be exported and restored, so a resumed run continues bit for bit.
 *
 * <p>Per step {@code t} (1-based) of a parameter {@code w} with gradient {@code g} (multiplied by
 * {@link #setGradientScale}): {@code w -= lr * wd * w} (skipped for parameters in the no-decay set
 * and for tensors of rank below 2), {@code m = b1 m + (1 - b1) g}, {@code v = b2 v + (1 - b2) g^2},
 * {@code w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)}, where {@code lr} is the
 * tracker's value at step {@code t - 1}. Moments are float32 and every parameter is updated through
 * a float32 master copy, then overwritten with it (exactly, for float32 parameters; with its
 * rounding, for float16 ones). State is kept per parameter and device, so data-parallel mirrors
 * each follow the same trajectory, and each parameter counts its own steps.
 *
 * <p>The update is multi-tensor: a device's moments and master copies are each one flat float32
 * array (parameters with the same step count share them), the gradient arrives as one flat array,
 * and the arithmetic is a dozen engine calls whatever the number of parameters; what remains per
 * parameter is one in-place copy of its master slice into the weight.
 */
public final class ResumableAdamW {

    /**
     * Elements a step takes at a time on the CPU, so that its dozen passes over them stay in cache
     * (a GPU takes each group whole: there, every pass is a kernel launch).
     */
    private static final long CPU_CHUNK = 1 << 18;

    private final Tracker learningRate;
    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final float weightDecay;
    private final Set<String> noDecay;
    private final Map<Device, DeviceState> states = new LinkedHashMap<>();
    private final Map<Device, Map<String, Saved>> imported = new LinkedHashMap<>();
    private float gradientScale = 1f;

    private ResumableAdamW(Builder builder) {
        this.learningRate = builder.learningRate;
        this.beta1 = builder.beta1;
        this.beta2 = builder.beta2;
        this.epsilon = builder.epsilon;
        this.weightDecay = builder.decay;
        this.noDecay = Set.copyOf(builder.noDecay);
    }

    /** Returns a builder; the learning-rate tracker is required. */
    public static Builder builder() {
        return new Builder();
    }

    /** Sets the factor every gradient is multiplied by in the next updates (clipping, scaling). */
    public void setGradientScale(float scale) {
        this.gradientScale = scale;
    }

    /** Returns the number of updates applied to a parameter on its first device (0 if none). */
    public int steps(String parameterId) {
        for (DeviceState state : states.values()) {
            int index = state.ids.indexOf(parameterId);
            if (index >= 0) {
                return state.groupOf[index].step;
            }
        }
        for (Map<String, Saved> saved : imported.values()) {
            if (saved.containsKey(parameterId)) {
                return saved.get(parameterId).step();
            }
        }
        return 0;
    }

    /**
     * Takes one step for every parameter of one device.
     *
     * <p>The first call for a device fixes its parameters and their order (and folds in the state
     * {@link #importState imported} for them); later calls must pass the same ones.
     *
     * @param parameterIds the parameters' ids
     * @param weights the parameters' arrays, all on one device, updated in place
     * @param gradient the gradients of {@code weights} in that order, each flattened in row-major
     *     order and concatenated ({@link FlatArrays#concat}): one 1-D array of any floating type on
     *     the weights' device
     * @throws IllegalArgumentException when the parameters or the gradient's length differ from the
     *     device's first call
     */
    public void update(List<String> parameterIds, List<NDArray> weights, NDArray gradient) {
        Device device = weights.get(0).getDevice();
        DeviceState state = states.get(device);
        if (state == null) {
            Map<String, Saved> saved = imported.getOrDefault(device, Map.of());
            state = new DeviceState(parameterIds, weights, saved);
            saved.values().forEach(Saved::close);
            imported.remove(device);
            states.put(device, state);
        } else if (!state.ids.equals(parameterIds) || !state.sameWeights(weights)) {
            throw new IllegalArgumentException(
                    "a device's parameters are fixed by its first update; got different ones on "
                            + device);
        }
        if (gradient.size() != state.size) {
            throw new IllegalArgumentException(
                    "the flat gradient has "
                            + gradient.size()
                            + " elements, the parameters "
                            + state.size);
        }
        try (NDScope ignored = new NDScope()) {
            if (state.groups.size() == 1) {
                step(state.groups.get(0), gradient);
            } else {
                NDList pieces = gradient.split(state.splitPoints);
                for (Group group : state.groups) {
                    List<NDArray> own = new ArrayList<>();
                    for (int member : group.members) {
                        own.add(pieces.get(member));
                    }
                    step(group, FlatArrays.concat(own));
                }
            }
        }
    }

    private void step(Group group, NDArray gradient) {
        float lr = learningRate.getNewValue(group.step);
        group.step++;
        double correction1 = 1 - Math.pow(beta1, group.step);
        double correction2 = 1 - Math.pow(beta2, group.step);
        List<NDArray> pieces =
                group.chunks.size() == 1
                        ? List.of(gradient)
                        : FlatArrays.views(gradient, group.chunkShapes);
        for (int c = 0; c < pieces.size(); c++) {
            try (NDScope ignored = new NDScope()) {
                adam(group.chunks.get(c), pieces.get(c), lr, correction1, correction2);
            }
        }
        for (int i = 0; i < group.weights.size(); i++) {
            // in place on the device: the weight's handle is what the model holds
            group.weights.get(i).set(ALL, group.masterViews.get(i));
        }
    }

    private void adam(
            Chunk chunk, NDArray gradient, float lr, double correction1, double correction2) {
        NDArray g = gradient.toType(DataType.FLOAT32, false).mul(gradientScale);
        if (chunk.decayMask() != null && weightDecay > 0) {
            // (w * 1) * s is w * s exactly; a parameter that does not decay gets w - 0
            chunk.master().subi(chunk.master().mul(chunk.decayMask()).muli(lr * weightDecay));
        }
        chunk.m().muli(beta1).addi(g.mul(1 - beta1));
        chunk.v().muli(beta2).addi(g.square().muli(1 - beta2));
        NDArray denominator = chunk.v().div(correction2).sqrt().addi(epsilon);
        chunk.master().subi(chunk.m().div(denominator).muli(lr / correction1));
    }

    /**
     * Exports the state on one device: for every parameter, arrays named {@code <name>.m}, {@code
     * <name>.v} and, for float16 parameters, {@code <name>.master}, each with its step count in
     * {@code steps}.
     *
     * @param names parameter id to a name stable across runs (the block's parameter path)
     * @param device the device whose state is exported
     * @param steps receives name to step count
     * @return the arrays, still owned by this optimizer (do not close them)
     */
    public NDList exportState(
            Map<String, String> names, Device device, Map<String, Integer> steps) {
        NDList list = new NDList();
        DeviceState state = states.get(device);
        if (state != null) {
            for (Group group : state.groups) {
                for (int i = 0; i < group.members.length; i++) {
                    String name = names.get(state.ids.get(group.members[i]));
                    if (name != null) {
                        NDArray master =
                                group.weights.get(i).getDataType() == DataType.FLOAT16
                                        ? group.masterViews.get(i)
                                        : null;
                        export(
                                list,
                                steps,
                                name,
                                group.step,
                                group.mViews.get(i),
                                group.vViews.get(i),
                                master);
                    }
                }
            }
        }
        for (Map.Entry<String, Saved> entry : imported.getOrDefault(device, Map.of()).entrySet()) {
            String name = names.get(entry.getKey());
            Saved saved = entry.getValue();
            if (name != null) {
                export(list, steps, name, saved.step(), saved.m(), saved.v(), saved.master());
            }
        }
        return list;
    }

    private static void export(
            NDList list,
            Map<String, Integer> steps,
            String name,
            int step,
            NDArray m,
            NDArray v,
            NDArray master) {
        steps.put(name, step);
        m.setName(name + ".m");
        v.setName(name + ".v");
        list.add(m);
        list.add(v);
        if (master != null) {
            master.setName(name + ".master");
            list.add(master);
        }
    }

    /**
     * Restores exported state onto a parameter's mirror; call once per parameter and device, before
     * the device's first {@link #update}.
     *
     * @param parameterId the parameter's id in this run
     * @param weight the parameter's array on the device being restored
     * @param arrays the exported arrays, by name
     * @param name the parameter's stable name
     * @param step the exported step count
     * @throws IllegalArgumentException when an array is missing or its shape differs
     * @throws IllegalStateException when the device has already taken a step
     */
    public void importState(
            String parameterId,
            NDArray weight,
            Map<String, NDArray> arrays,
            String name,
            int step) {
        if (states.containsKey(weight.getDevice())) {
            throw new IllegalStateException(
                    "optimizer state must be imported before the first update on "
                            + weight.getDevice());
        }
        NDArray m = restore(weight, arrays.get(name + ".m"), name + ".m");
        NDArray v = restore(weight, arrays.get(name + ".v"), name + ".v");
        NDArray master =
                weight.getDataType() == DataType.FLOAT16
                        ? restore(weight, arrays.get(name + ".master"), name + ".master")
                        : null;
        Saved previous =
                imported.computeIfAbsent(weight.getDevice(), d -> new LinkedHashMap<>())
                        .put(parameterId, new Saved(m, v, master, step));
        if (previous != null) {
            previous.close();
        }
    }

    /** Returns a float32 copy of a saved array, owned by the weight's manager, on its device. */
    private static NDArray restore(NDArray weight, NDArray saved, String name) {
        if (saved == null) {
            throw new IllegalArgumentException("optimizer state has no array " + name);
        }
        if (!saved.getShape().equals(weight.getShape())) {
            throw new IllegalArgumentException(
                    "optimizer state "
                            + name
                            + " has shape "
                            + saved.getShape()
                            + ", the model needs "
                            + weight.getShape());
        }
        NDArray copy =
                weight.getManager().zeros(weight.getShape(), DataType.FLOAT32, weight.getDevice());
        copy.set(ALL, saved.toDevice(weight.getDevice(), false));
        NDScope.unregister(copy);
        return copy;
    }

    /** Imported state of one parameter, waiting for its device's first update. */
    private record Saved(NDArray m, NDArray v, NDArray master, int step) {
        void close() {
            m.close();
            v.close();
            if (master != null) {
                master.close();
            }
        }
    }

    /** One device's parameters, in the order of its first update, in groups of equal step. */
    private final class DeviceState {
        private final List<String> ids;
        private final List<NDArray> weights;
        private final long size;
        private final long[] splitPoints;
        private final List<Group> groups = new ArrayList<>();
        private final Group[] groupOf;

        DeviceState(List<String> ids, List<NDArray> weights, Map<String, Saved> saved) {
            if (ids.size() != weights.size() || ids.isEmpty()) {
                throw new IllegalArgumentException(
                        ids.size() + " parameter ids for " + weights.size() + " weights");
            }
            this.ids = List.copyOf(ids);
            this.weights = List.copyOf(weights);
            List<Shape> shapes = new ArrayList<>();
            Map<Integer, List<Integer>> byStep = new LinkedHashMap<>();
            for (int i = 0; i < ids.size(); i++) {
                shapes.add(weights.get(i).getShape());
                Saved s = saved.get(ids.get(i));
                byStep.computeIfAbsent(s == null ? 0 : s.step(), k -> new ArrayList<>()).add(i);
            }
            this.splitPoints = FlatArrays.splitPoints(shapes);
            this.size = shapes.stream().mapToLong(Shape::size).sum();
            this.groupOf = new Group[ids.size()];
            for (Map.Entry<Integer, List<Integer>> entry : byStep.entrySet()) {
                int[] members = entry.getValue().stream().mapToInt(Integer::intValue).toArray();
                Group group = new Group(this, members, entry.getKey(), saved);
                groups.add(group);
                for (int member : members) {
                    groupOf[member] = group;
                }
            }
        }

        boolean sameWeights(List<NDArray> others) {
            if (others.size() != weights.size()) {
                return false;
            }
            for (int i = 0; i < weights.size(); i++) {
                if (others.get(i) != weights.get(i)) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Consecutive elements of a group's flat moments, master copy and decay mask (1 where the
     * weight decays, else 0; null when no weight of the group does).
     */
    private record Chunk(NDArray m, NDArray v, NDArray master, NDArray decayMask) {}

    /**
     * Parameters of one device with one step count: flat float32 moments, master copy and decay
     * mask, seen as chunks and as per-parameter views.
     */
    private final class Group {
        private final int[] members;
        private final List<NDArray> weights = new ArrayList<>();
        private final List<Shape> chunkShapes = new ArrayList<>();
        private final List<Chunk> chunks = new ArrayList<>();
        private final List<NDArray> mViews;
        private final List<NDArray> vViews;
        private final List<NDArray> masterViews;
        private int step;

        Group(DeviceState device, int[] members, int step, Map<String, Saved> saved) {
            this.members = members;
            this.step = step;
            List<Shape> shapes = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (int member : members) {
                weights.add(device.weights.get(member));
                shapes.add(device.weights.get(member).getShape());
                ids.add(device.ids.get(member));
            }
            NDArray first = weights.get(0);
            NDManager manager = first.getManager();
            Device on = first.getDevice();
            long size = shapes.stream().mapToLong(Shape::size).sum();
            long chunk = on.isGpu() ? size : CPU_CHUNK;
            for (long from = 0; from < size; from += chunk) {
                chunkShapes.add(new Shape(Math.min(chunk, size - from)));
            }
            try (NDScope ignored = new NDScope()) {
                NDArray m = manager.zeros(new Shape(size), DataType.FLOAT32, on);
                NDArray v = manager.zeros(new Shape(size), DataType.FLOAT32, on);
                List<NDArray> masters = new ArrayList<>();
                List<NDArray> mask = new ArrayList<>();
                boolean anyDecays = false;
                for (int i = 0; i < members.length; i++) {
                    NDArray weight = weights.get(i);
                    masters.add(weight.toType(DataType.FLOAT32, false));
                    boolean decays =
                            weight.getShape().dimension() >= 2 && !noDecay.contains(ids.get(i));
                    anyDecays |= decays;
                    mask.add(
                            decays
                                    ? manager.ones(shapes.get(i), DataType.FLOAT32, on)
                                    : manager.zeros(shapes.get(i), DataType.FLOAT32, on));
                }
                NDArray master = FlatArrays.concat(masters);
                NDArray decayMask = anyDecays ? FlatArrays.concat(mask) : null;
                mViews = FlatArrays.views(m, shapes);
                vViews = FlatArrays.views(v, shapes);
                masterViews = FlatArrays.views(master, shapes);
                for (int i = 0; i < members.length; i++) {
                    Saved s = saved.get(ids.get(i));
                    if (s != null) {
                        mViews.get(i).set(ALL, s.m());
                        vViews.get(i).set(ALL, s.v());
                        if (s.master() != null) {
                            masterViews.get(i).set(ALL, s.master());
                        }
                    }
                }
                List<NDArray> mChunks = FlatArrays.views(m, chunkShapes);
                List<NDArray> vChunks = FlatArrays.views(v, chunkShapes);
                List<NDArray> masterChunks = FlatArrays.views(master, chunkShapes);
                List<NDArray> maskChunks =
                        decayMask == null ? null : FlatArrays.views(decayMask, chunkShapes);
                // the flat arrays and their views outlive the scope: the optimizer owns them
                NDList keep = new NDList(m, v, master);
                for (int c = 0; c < chunkShapes.size(); c++) {
                    Chunk piece =
                            new Chunk(
                                    mChunks.get(c),
                                    vChunks.get(c),
                                    masterChunks.get(c),
                                    maskChunks == null ? null : maskChunks.get(c));
                    chunks.add(piece);
                    keep.addAll(List.of(piece.m(), piece.v(), piece.master()));
                }
                if (decayMask != null) {
                    keep.add(decayMask);
                    keep.addAll(maskChunks);
                }
                keep.addAll(mViews);
                keep.addAll(vViews);
                keep.addAll(masterViews);
                NDScope.unregister(keep);
            }
        }
    }

    /** Builds a {@link ResumableAdamW}. */
    public static final class Builder {
        private Tracker learningRate;
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float epsilon = 1e-8f;
        private float decay = 0.05f;
        private Set<String> noDecay = Set.of();

        private Builder() {}

        /** Sets the learning rate as a function of the step (required). */
        public Builder setLearningRateTracker(Tracker tracker) {
            this.learningRate = tracker;
            return this;
        }

        /** Sets the moment decay rates (default 0.9, 0.999). */
        public Builder optBetas(float beta1, float beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /** Sets the denominator's epsilon (default 1e-8). */
        public Builder optEpsilon(float epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        /** Sets the decoupled weight decay (default 0.05). */
        public Builder optDecoupledWeightDecay(float decay) {
            this.decay = decay;
            return this;
        }

        /** Sets parameter ids that never decay (biases and norms already don't: rank below 2). */
        public Builder optNoDecay(Set<String> parameterIds) {
            this.noDecay = parameterIds;
            return this;
        }

        /** Builds the optimizer; a missing tracker or out-of-range value is an error. */
        public ResumableAdamW build() {
            if (learningRate == null) {
                throw new IllegalArgumentException("a learning-rate tracker is required");
            }
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException(
                        "betas must be in [0, 1), got " + beta1 + ", " + beta2);
            }
            if (!(epsilon > 0) || !(decay >= 0)) {
                throw new IllegalArgumentException(
                        "epsilon must be positive and weight decay non-negative, got "
                                + epsilon
                                + ", "
                                + decay);
            }
            return new ResumableAdamW(this);
        }
    }
}

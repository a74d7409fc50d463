package ai.natten.app.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * AdamW (Loshchilov and Hutter, PyTorch's formulation) whose whole state can be exported and
 * restored, so a resumed run continues bit for bit.
 *
 * <p>Per step {@code t} (1-based) of a parameter {@code w} with gradient {@code g} (multiplied by
 * {@link #setGradientScale} and the builder's rescale factor, then clipped element-wise if the
 * builder set a clip value): {@code w -= lr * wd * w} (skipped for parameters in the no-decay set
 * and for tensors of rank below 2), {@code m = b1 m + (1 - b1) g}, {@code v = b2 v + (1 - b2) g^2},
 * {@code w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)}, where {@code lr} is the
 * tracker's value at step {@code t - 1}. Moments are float32. A float16 parameter is updated
 * through a float32 master copy, then overwritten with its rounding. State is kept per parameter
 * and device, so data-parallel mirrors each follow the same trajectory.
 */
public final class ResumableAdamW extends Optimizer {

    private final ParameterTracker learningRate;
    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final float weightDecay;
    private final Set<String> noDecay;
    private final Map<String, Map<Device, State>> states = new HashMap<>();
    private float gradientScale = 1f;

    private ResumableAdamW(Builder builder) {
        super(builder);
        if (getWeightDecay() != 0) {
            throw new IllegalArgumentException(
                    "AdamW's weight decay is decoupled: use optDecoupledWeightDecay, not"
                            + " optWeightDecays");
        }
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
        Map<Device, State> perDevice = states.get(parameterId);
        return perDevice == null ? 0 : perDevice.values().iterator().next().step;
    }

    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        State state =
                states.computeIfAbsent(parameterId, k -> new LinkedHashMap<>())
                        .computeIfAbsent(weight.getDevice(), d -> State.create(weight));
        float lr = learningRate.getNewValue(parameterId, state.step);
        state.step++;
        double correction1 = 1 - Math.pow(beta1, state.step);
        double correction2 = 1 - Math.pow(beta2, state.step);
        boolean decays = weight.getShape().dimension() >= 2 && !noDecay.contains(parameterId);
        try (NDScope ignored = new NDScope()) {
            NDArray target = state.master != null ? state.master : weight;
            NDArray g = grad.toType(DataType.FLOAT32, true).muli(gradientScale * rescaleGrad);
            if (clipGrad > 0) {
                g = g.clip(-clipGrad, clipGrad);
            }
            if (decays && weightDecay > 0) {
                target.subi(target.mul(lr * weightDecay));
            }
            state.m.muli(beta1).addi(g.mul(1 - beta1));
            state.v.muli(beta2).addi(g.square().muli(1 - beta2));
            NDArray denominator = state.v.div(correction2).sqrt().addi(epsilon);
            target.subi(state.m.div(denominator).muli(lr / correction1));
            if (state.master != null) {
                // in place on the device: the weight's handle is what the model holds
                weight.muli(0).addi(state.master.toType(weight.getDataType(), true));
            }
        }
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
        for (Map.Entry<String, Map<Device, State>> entry : states.entrySet()) {
            State state = entry.getValue().get(device);
            String name = names.get(entry.getKey());
            if (state == null || name == null) {
                continue;
            }
            steps.put(name, state.step);
            state.m.setName(name + ".m");
            state.v.setName(name + ".v");
            list.add(state.m);
            list.add(state.v);
            if (state.master != null) {
                state.master.setName(name + ".master");
                list.add(state.master);
            }
        }
        return list;
    }

    /**
     * Restores exported state onto a parameter's mirror; call once per parameter and device.
     *
     * @param parameterId the parameter's id in this run
     * @param weight the parameter's array on the device being restored
     * @param arrays the exported arrays, by name
     * @param name the parameter's stable name
     * @param step the exported step count
     * @throws IllegalArgumentException when an array is missing or its shape differs
     */
    public void importState(
            String parameterId,
            NDArray weight,
            Map<String, NDArray> arrays,
            String name,
            int step) {
        State state = State.create(weight);
        restore(state.m, arrays.get(name + ".m"), name + ".m");
        restore(state.v, arrays.get(name + ".v"), name + ".v");
        if (state.master != null) {
            restore(state.master, arrays.get(name + ".master"), name + ".master");
        }
        state.step = step;
        states.computeIfAbsent(parameterId, k -> new LinkedHashMap<>())
                .put(weight.getDevice(), state);
    }

    private static void restore(NDArray into, NDArray saved, String name) {
        if (saved == null) {
            throw new IllegalArgumentException("optimizer state has no array " + name);
        }
        if (!saved.getShape().equals(into.getShape())) {
            throw new IllegalArgumentException(
                    "optimizer state "
                            + name
                            + " has shape "
                            + saved.getShape()
                            + ", the model needs "
                            + into.getShape());
        }
        saved.toDevice(into.getDevice(), false).toType(DataType.FLOAT32, false).copyTo(into);
    }

    /** Moments (and master weights for float16) of one parameter on one device. */
    private static final class State {
        private final NDArray m;
        private final NDArray v;
        private final NDArray master;
        private int step;

        private State(NDArray m, NDArray v, NDArray master) {
            this.m = m;
            this.v = v;
            this.master = master;
        }

        static State create(NDArray weight) {
            NDArray m =
                    weight.getManager()
                            .zeros(weight.getShape(), DataType.FLOAT32, weight.getDevice());
            NDArray v =
                    weight.getManager()
                            .zeros(weight.getShape(), DataType.FLOAT32, weight.getDevice());
            NDArray master =
                    weight.getDataType() == DataType.FLOAT16
                            ? weight.toType(DataType.FLOAT32, true)
                            : null;
            NDScope.unregister(m, v);
            if (master != null) {
                NDScope.unregister(master);
            }
            return new State(m, v, master);
        }
    }

    /** Builds a {@link ResumableAdamW}. */
    public static final class Builder extends OptimizerBuilder<Builder> {
        private ParameterTracker learningRate;
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float epsilon = 1e-8f;
        private float decay = 0.05f;
        private Set<String> noDecay = Set.of();

        private Builder() {}

        /** Sets the learning rate as a function of the step (required). */
        public Builder setLearningRateTracker(ParameterTracker tracker) {
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

        @Override
        protected Builder self() {
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

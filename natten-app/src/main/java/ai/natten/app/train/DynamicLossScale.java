package ai.natten.app.train;

/**
 * The loss scale of mixed-precision training: fp16 gradients underflow unless the loss is
 * multiplied before backward. A step whose gradients overflow (a non-finite norm) is skipped and
 * halves the scale (never below 1); {@value #GROWTH_INTERVAL} good steps in a row double it. In
 * fp32 the scale is 1 and never moves.
 */
final class DynamicLossScale {

    static final int GROWTH_INTERVAL = 2000;
    static final float INITIAL_FP16_SCALE = 65536f;

    private final boolean dynamic;
    private float scale;
    private int goodSteps;

    private DynamicLossScale(boolean dynamic, float scale) {
        this.dynamic = dynamic;
        this.scale = scale;
    }

    /** Returns the scale for parameters in the given precision. */
    static DynamicLossScale forPrecision(Precision precision) {
        return precision == Precision.FP16
                ? new DynamicLossScale(true, INITIAL_FP16_SCALE)
                : new DynamicLossScale(false, 1f);
    }

    /** Returns the factor the loss is multiplied by before backward. */
    float scale() {
        return scale;
    }

    /** Returns the good steps since the scale last changed. */
    int goodSteps() {
        return goodSteps;
    }

    /**
     * Records a step: {@code finite} is false when its gradients overflowed (the step is skipped).
     */
    void update(boolean finite) {
        if (!dynamic) {
            return;
        }
        if (!finite) {
            scale = Math.max(1f, scale / 2);
            goodSteps = 0;
        } else if (++goodSteps == GROWTH_INTERVAL) {
            scale *= 2;
            goodSteps = 0;
        }
    }

    /** Restores a checkpoint's scale and count of good steps. */
    void restore(float scale, int goodSteps) {
        if (!(scale >= 1) || goodSteps < 0 || goodSteps >= GROWTH_INTERVAL) {
            throw new IllegalArgumentException(
                    "checkpoint loss scale "
                            + scale
                            + " / good steps "
                            + goodSteps
                            + " are invalid");
        }
        this.scale = scale;
        this.goodSteps = goodSteps;
    }
}

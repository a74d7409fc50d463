package ai.natten.app.train;

import ai.djl.training.tracker.Tracker;

/**
 * The learning rate of step {@code t} (0-based): a linear ramp {@code base * (t + 1) / warmup} over
 * the first {@code warmup} steps, then a half cosine from {@code base} down to {@code min} at the
 * last step. A pure function of the step, so a resumed run continues the same curve.
 */
public final class WarmupCosineSchedule implements Tracker {

    private final float base;
    private final float min;
    private final int warmupSteps;
    private final int totalSteps;

    /**
     * Creates the schedule.
     *
     * @param base the peak learning rate, positive
     * @param min the final learning rate, in [0, base]
     * @param warmupSteps steps of linear warm-up, in [0, totalSteps)
     * @param totalSteps the number of steps of the whole run, at least 1
     */
    public WarmupCosineSchedule(float base, float min, int warmupSteps, int totalSteps) {
        if (!(base > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + base);
        }
        if (!(min >= 0 && min <= base)) {
            throw new IllegalArgumentException(
                    "minimum learning rate must be in [0, " + base + "], got " + min);
        }
        if (totalSteps < 1 || warmupSteps < 0 || warmupSteps >= totalSteps) {
            throw new IllegalArgumentException(
                    "warm-up steps must be in [0, total steps), got "
                            + warmupSteps
                            + " of "
                            + totalSteps);
        }
        this.base = base;
        this.min = min;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    @Override
    public float getNewValue(int step) {
        if (step < warmupSteps) {
            return base * (step + 1) / warmupSteps;
        }
        int decaySteps = totalSteps - warmupSteps;
        double progress =
                Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, decaySteps - 1));
        return (float) (min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}

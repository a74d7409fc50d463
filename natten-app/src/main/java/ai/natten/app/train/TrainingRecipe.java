package ai.natten.app.train;

/**
 * The hyper-parameters of a training run (the ImageNet recipe of NAT/DiNAT, scaled by the user).
 *
 * @param epochs passes over the training set, at least 1
 * @param batchSize images per step (over all devices), at least 1
 * @param learningRate the peak learning rate
 * @param minLearningRate the learning rate at the end of the cosine
 * @param weightDecay AdamW's decoupled weight decay
 * @param warmupEpochs epochs of linear warm-up (fractional allowed)
 * @param labelSmoothing the label smoothing epsilon
 * @param clipNorm the global gradient-norm limit; 0 disables clipping
 * @param minCropScale the smallest area fraction of RandomResizedCrop
 * @param flip whether to mirror half of the training images
 * @param cropFraction the evaluation center-crop fraction
 * @param seed the seed every random choice derives from
 * @param precision fp32 or fp16
 */
public record TrainingRecipe(
        int epochs,
        int batchSize,
        float learningRate,
        float minLearningRate,
        float weightDecay,
        double warmupEpochs,
        float labelSmoothing,
        float clipNorm,
        double minCropScale,
        boolean flip,
        double cropFraction,
        long seed,
        Precision precision) {

    /** Checks every range, naming the option at fault. */
    public TrainingRecipe {
        require(epochs >= 1, "--epochs must be at least 1, got " + epochs);
        require(batchSize >= 1, "--batch-size must be at least 1, got " + batchSize);
        require(learningRate > 0, "--lr must be positive, got " + learningRate);
        require(
                minLearningRate >= 0 && minLearningRate <= learningRate,
                "--min-lr must be in [0, --lr], got " + minLearningRate);
        require(weightDecay >= 0, "--weight-decay must be non-negative, got " + weightDecay);
        require(
                warmupEpochs >= 0 && warmupEpochs < epochs,
                "--warmup-epochs must be in [0, --epochs), got " + warmupEpochs);
        require(
                labelSmoothing >= 0 && labelSmoothing < 1,
                "--label-smoothing must be in [0, 1), got " + labelSmoothing);
        require(clipNorm >= 0, "--clip-grad must be non-negative, got " + clipNorm);
        require(
                minCropScale > 0 && minCropScale <= 1,
                "--min-crop-scale must be in (0, 1], got " + minCropScale);
        require(
                cropFraction > 0 && cropFraction <= 1,
                "--crop-fraction must be in (0, 1], got " + cropFraction);
        require(precision != null, "--precision is required");
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}

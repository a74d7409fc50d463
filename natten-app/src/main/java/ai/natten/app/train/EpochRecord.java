package ai.natten.app.train;

/**
 * One epoch's figures, as logged to CSV and JSON.
 *
 * @param epoch the epoch number, 1-based
 * @param trainLoss the mean training loss
 * @param trainTop1 the training top-1 accuracy on the augmented batches
 * @param valLoss the validation loss
 * @param valTop1 the validation top-1 accuracy
 * @param valTop5 the validation top-5 accuracy
 * @param learningRate the learning rate of the epoch's last step
 * @param seconds the epoch's wall time, training and validation
 * @param imagesPerSecond the training throughput
 */
public record EpochRecord(
        int epoch,
        double trainLoss,
        double trainTop1,
        double valLoss,
        double valTop1,
        double valTop5,
        double learningRate,
        double seconds,
        double imagesPerSecond) {

    /** The CSV header matching {@link #toCsv()}. */
    public static final String CSV_HEADER =
            "epoch,train_loss,train_top1,val_loss,val_top1,val_top5,lr,seconds,images_per_second";

    /** Returns this record as a CSV line. */
    public String toCsv() {
        return String.format(
                java.util.Locale.ROOT,
                "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.8g,%.3f,%.2f",
                epoch,
                trainLoss,
                trainTop1,
                valLoss,
                valTop1,
                valTop5,
                learningRate,
                seconds,
                imagesPerSecond);
    }
}

package ai.natten.app.data;

/**
 * A training set and the held-out set it is evaluated on, sharing one list of classes.
 *
 * @param train the images trained on
 * @param validation the images evaluated each epoch
 */
public record DatasetSplits(LabeledImages train, LabeledImages validation) {

    /** Checks that both splits name the same classes in the same order. */
    public DatasetSplits {
        if (!train.classes().equals(validation.classes())) {
            throw new IllegalArgumentException(
                    "train and validation classes differ: "
                            + train.classes()
                            + " vs "
                            + validation.classes());
        }
    }
}

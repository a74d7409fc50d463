package ai.natten.app.model;

import ai.natten.app.data.CenterCrop;
import ai.natten.app.data.Normalization;
import java.util.List;

/**
 * What a saved model needs besides its parameters: how to rebuild the Block, the class names and
 * the evaluation preprocessing. Stored as {@code model.json} beside the parameters.
 *
 * @param spec the Block's architecture and settings
 * @param classes the class names, one per output
 * @param mean the per-channel normalization mean
 * @param std the per-channel normalization standard deviation
 * @param cropFraction the evaluation center-crop fraction
 */
public record ModelCard(
        ModelSpec spec, List<String> classes, float[] mean, float[] std, double cropFraction) {

    /** Checks that the classes match the spec's output count. */
    public ModelCard {
        if (spec == null || classes == null || mean == null || std == null) {
            throw new IllegalArgumentException(
                    "model card needs spec, classes, mean and std, got " + spec + ", " + classes);
        }
        if (classes.size() != spec.classes()) {
            throw new IllegalArgumentException(
                    "model card lists "
                            + classes.size()
                            + " class names for "
                            + spec.classes()
                            + " outputs");
        }
        classes = List.copyOf(classes);
    }

    /** Creates a card from a normalization object. */
    public static ModelCard of(
            ModelSpec spec,
            List<String> classes,
            Normalization normalization,
            double cropFraction) {
        return new ModelCard(
                spec, classes, normalization.mean(), normalization.std(), cropFraction);
    }

    /** Returns the normalization. */
    public Normalization normalization() {
        return new Normalization(mean, std);
    }

    /** Returns the evaluation transform: resize, center crop, normalize. */
    public CenterCrop evaluationTransform() {
        return new CenterCrop(spec.imageSize(), cropFraction, normalization());
    }
}

package ai.natten.app.model;

import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import ai.natten.app.data.CenterCrop;
import ai.natten.app.data.RawImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Image to class probabilities with exactly the preprocessing the model was evaluated with during
 * training (the same {@link CenterCrop} code), then softmax over the logits.
 */
public final class ClassifierTranslator implements Translator<Image, Classifications> {

    private final CenterCrop transform;
    private final List<String> classes;

    /** Creates the translator of a saved model. */
    public ClassifierTranslator(ModelCard card) {
        this.transform = card.evaluationTransform();
        this.classes = card.classes();
    }

    @Override
    public NDList processInput(TranslatorContext ctx, Image input) {
        NDArray hwc = input.toNDArray(ctx.getNDManager(), Image.Flag.COLOR);
        RawImage image =
                new RawImage(
                        (int) hwc.getShape().get(1),
                        (int) hwc.getShape().get(0),
                        3,
                        hwc.toType(DataType.UINT8, false).toByteArray());
        int side = transform.size();
        float[] pixels = new float[3 * side * side];
        transform.apply(image, null, pixels, 0);
        return new NDList(ctx.getNDManager().create(pixels, new Shape(3, side, side)));
    }

    @Override
    public Classifications processOutput(TranslatorContext ctx, NDList list) {
        NDArray probabilities = list.singletonOrThrow().toType(DataType.FLOAT32, false).softmax(0);
        List<Double> values = new ArrayList<>();
        for (float p : probabilities.toFloatArray()) {
            values.add((double) p);
        }
        return new Classifications(classes, values);
    }
}

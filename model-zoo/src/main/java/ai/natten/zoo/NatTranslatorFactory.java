package ai.natten.zoo;

import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.transform.CenterCrop;
import ai.djl.modality.cv.transform.Normalize;
import ai.djl.modality.cv.transform.ResizeShort;
import ai.djl.modality.cv.transform.ToTensor;
import ai.djl.modality.cv.translator.ImageClassificationTranslator;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;
import ai.natten.zoo.nat.NatModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the {@code Image -> Classifications} translator of a NAT model with the standard ImageNet
 * evaluation preprocessing: resize the short side to {@code size / 0.875} (256 for 224) with
 * bicubic interpolation, center crop {@code size x size}, scale to [0, 1], normalize with the
 * ImageNet mean {@code (0.485, 0.456, 0.406)} and standard deviation {@code (0.229, 0.224, 0.225)};
 * softmax probabilities out. One-channel models read the image as grayscale and skip the
 * normalization. Class names come from {@code synset.txt} in the model directory, else {@code
 * class_0, class_1, ...}.
 */
public final class NatTranslatorFactory implements TranslatorFactory {

    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    /** {@inheritDoc} */
    @Override
    public Set<Pair<Type, Type>> getSupportedTypes() {
        return Set.of(new Pair<>(Image.class, Classifications.class));
    }

    /** {@inheritDoc} */
    @Override
    @SuppressWarnings("unchecked")
    public <I, O> Translator<I, O> newInstance(
            Class<I> input, Class<O> output, Model model, Map<String, ?> arguments) {
        if (!isSupported(input, output)) {
            throw new IllegalArgumentException(
                    "NAT models translate Image -> Classifications, not "
                            + input.getSimpleName()
                            + " -> "
                            + output.getSimpleName());
        }
        if (!(model.getBlock() instanceof NatModel nat)) {
            throw new IllegalArgumentException("the model's block is not a NatModel");
        }
        Path dir = model.getModelPath();
        if (dir == null && arguments.get("modelDir") != null) {
            dir = Path.of(arguments.get("modelDir").toString());
        }
        return (Translator<I, O>) newTranslator(nat, dir);
    }

    /**
     * Returns the translator of a model.
     *
     * @param model the model
     * @param modelDir its directory (for {@code synset.txt}), or null
     * @return the translator
     */
    public static ImageClassificationTranslator newTranslator(NatModel model, Path modelDir) {
        int size = model.config().imageSize();
        ImageClassificationTranslator.Builder builder =
                ImageClassificationTranslator.builder()
                        .addTransform(
                                new ResizeShort(
                                        Math.round(size / 0.875f), -1, Image.Interpolation.BICUBIC))
                        .addTransform(new CenterCrop(size, size))
                        .addTransform(new ToTensor())
                        .optSynset(synset(modelDir, model.config().numClasses()))
                        .optApplySoftmax(true);
        if (model.config().inChannels() == 1) {
            builder.optFlag(Image.Flag.GRAYSCALE);
        } else {
            builder.addTransform(new Normalize(MEAN, STD));
        }
        return builder.build();
    }

    private static List<String> synset(Path modelDir, int classes) {
        Path file = modelDir == null ? null : modelDir.resolve("synset.txt");
        if (file != null && Files.isRegularFile(file)) {
            try {
                List<String> names = Files.readAllLines(file);
                if (names.size() != classes) {
                    throw new IllegalArgumentException(
                            file + " names " + names.size() + " classes, the model has " + classes);
                }
                return names;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        List<String> names = new ArrayList<>(classes);
        for (int i = 0; i < classes; i++) {
            names.add("class_" + i);
        }
        return names;
    }
}

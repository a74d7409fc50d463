package ai.natten.app.cli;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import ai.natten.app.data.LabeledImages;
import ai.natten.app.data.RawImage;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Runs a loaded model's Predictor over labelled images: accuracy and sample predictions. */
final class Predictions {

    private static final int CHUNK = 100;

    private Predictions() {}

    /**
     * Top-1 and top-5 accuracy of a model on labelled images, through its Predictor.
     *
     * @param model the model, loaded through Criteria
     * @param modelClasses the model's class names
     * @param images the images; their class names must be among the model's
     * @return {top-1, top-5} fractions
     */
    static double[] accuracy(
            ZooModel<Image, Classifications> model, List<String> modelClasses, LabeledImages images)
            throws IOException, TranslateException {
        if (images.size() == 0) {
            throw new IllegalArgumentException("no images to evaluate");
        }
        List<String> expected = modelNames(modelClasses, images.classes());
        long top1 = 0;
        long top5 = 0;
        try (Predictor<Image, Classifications> predictor = model.newPredictor()) {
            for (int start = 0; start < images.size(); start += CHUNK) {
                int end = Math.min(images.size(), start + CHUNK);
                List<Image> batch = new ArrayList<>();
                for (int i = start; i < end; i++) {
                    batch.add(toImage(images.image(i)));
                }
                List<Classifications> results = predictor.batchPredict(batch);
                for (int i = start; i < end; i++) {
                    String truth = expected.get(images.label(i));
                    List<Classifications.Classification> best = results.get(i - start).topK(5);
                    if (best.get(0).getClassName().equals(truth)) {
                        top1++;
                    }
                    if (best.stream().anyMatch(c -> c.getClassName().equals(truth))) {
                        top5++;
                    }
                }
            }
        }
        return new double[] {(double) top1 / images.size(), (double) top5 / images.size()};
    }

    /**
     * Maps each dataset class to the model's name for it: the same name, or a model name that
     * starts with it and a space (ImageNet's {@code synset.txt} lines, {@code "n01440764 tench"},
     * against folders named {@code n01440764}).
     *
     * @throws IllegalArgumentException naming a dataset class the model does not know
     */
    static List<String> modelNames(List<String> modelClasses, List<String> datasetClasses) {
        List<String> names = new ArrayList<>();
        for (String name : datasetClasses) {
            String match =
                    modelClasses.stream()
                            .filter(m -> m.equals(name) || m.startsWith(name + " "))
                            .findFirst()
                            .orElseThrow(
                                    () ->
                                            new IllegalArgumentException(
                                                    "dataset class '"
                                                            + name
                                                            + "' is not one of the model's "
                                                            + abbreviate(modelClasses)));
            names.add(match);
        }
        return names;
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 12
                ? names.toString()
                : names.subList(0, 12) + " ... (" + names.size() + " classes)";
    }

    /** Prints the reloaded model's accuracy on the images and its predictions for the first few. */
    static void report(
            ZooModel<Image, Classifications> model,
            List<String> modelClasses,
            LabeledImages images,
            int show,
            PrintStream out)
            throws IOException, TranslateException {
        double[] accuracy = accuracy(model, modelClasses, images);
        out.printf(
                Locale.ROOT,
                "reloaded through Criteria: top-1 %.2f%%, top-5 %.2f%% on %s%n",
                100 * accuracy[0],
                100 * accuracy[1],
                images.describe());
        try (Predictor<Image, Classifications> predictor = model.newPredictor()) {
            for (int i = 0; i < Math.min(show, images.size()); i++) {
                Classifications.Classification best =
                        predictor.predict(toImage(images.image(i))).best();
                out.printf(
                        Locale.ROOT,
                        "  image %d: %-12s -> %-12s (%.1f%%)%n",
                        i,
                        images.classes().get(images.label(i)),
                        best.getClassName(),
                        100 * best.getProbability());
            }
        }
    }

    /** Wraps a decoded image as a DJL Image (RGB). */
    static Image toImage(RawImage raw) {
        BufferedImage image =
                new BufferedImage(raw.width(), raw.height(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < raw.height(); y++) {
            for (int x = 0; x < raw.width(); x++) {
                int rgb = raw.value(x, y, 0) << 16 | raw.value(x, y, 1) << 8 | raw.value(x, y, 2);
                image.setRGB(x, y, rgb);
            }
        }
        return ImageFactory.getInstance().fromImage(image);
    }
}

package ai.natten.app.cli;

import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import ai.natten.app.data.ImageFolder;
import ai.natten.app.data.LabeledImages;
import ai.natten.app.model.ModelCard;
import ai.natten.app.model.SavedModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code natten evaluate}: top-1/top-5 of a saved model on a labelled dataset. */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        description = {
            "Top-1 and top-5 accuracy of a saved model (a directory with model.json) on a dataset:"
                    + " --data DIR (DIR/val/<class> or DIR/<class>), --fashion-mnist DIR (its test"
                    + " split) or, with neither, the embedded Fashion-MNIST test images."
        })
final class EvaluateCommand implements Callable<Integer> {

    @ParentCommand NattenCommand parent;

    @Mixin DataOptions dataOptions = new DataOptions();

    @Mixin RuntimeOptions runtime = new RuntimeOptions();

    @Option(
            names = "--model-dir",
            required = true,
            paramLabel = "DIR",
            description = "a saved model, e.g. runs/<run>/model")
    Path modelDirectory;

    @Override
    public Integer call() throws IOException, TranslateException {
        dataOptions.checkExclusive();
        ModelCard card = SavedModel.readCard(modelDirectory);
        LabeledImages images = evaluationImages();
        try (ZooModel<Image, Classifications> model =
                SavedModel.load(modelDirectory, runtime.devices()[0])) {
            double[] accuracy = Predictions.accuracy(model, card.classes(), images);
            parent.out()
                    .printf(
                            Locale.ROOT,
                            "%s on %s: top-1 %.2f%%, top-5 %.2f%%%n",
                            modelDirectory,
                            images.describe(),
                            100 * accuracy[0],
                            100 * accuracy[1]);
        }
        return 0;
    }

    private LabeledImages evaluationImages() throws IOException {
        if (dataOptions.folder != null) {
            Path val = dataOptions.folder.resolve("val");
            return ImageFolder.scan(Files.isDirectory(val) ? val : dataOptions.folder);
        }
        return dataOptions.load().validation();
    }
}

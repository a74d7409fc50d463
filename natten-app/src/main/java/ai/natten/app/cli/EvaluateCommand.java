package ai.natten.app.cli;

import ai.djl.translate.TranslateException;
import ai.natten.app.data.ImageFolder;
import ai.natten.app.data.LabeledImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

/** {@code natten evaluate}: top-1/top-5 of a saved model on a labelled dataset. */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        description = {
            "Top-1 and top-5 accuracy of a saved (--model-dir) or zoo (--zoo) model on a dataset:"
                    + " --data DIR (DIR/val/<class> or DIR/<class>), --fashion-mnist DIR (its test"
                    + " split) or, with neither, the embedded Fashion-MNIST test images."
        })
final class EvaluateCommand implements Callable<Integer> {

    @ParentCommand NattenCommand parent;

    @Mixin DataOptions dataOptions = new DataOptions();

    @Mixin RuntimeOptions runtime = new RuntimeOptions();

    @Mixin ModelSource source = new ModelSource();

    @Override
    public Integer call() throws IOException, TranslateException {
        dataOptions.checkExclusive();
        source.check();
        LabeledImages images = evaluationImages();
        try (ModelSource.Loaded loaded = source.load(runtime.devices()[0])) {
            double[] accuracy = Predictions.accuracy(loaded.model(), loaded.classes(), images);
            parent.out()
                    .printf(
                            Locale.ROOT,
                            "%s on %s: top-1 %.2f%%, top-5 %.2f%%%n",
                            loaded.model().getName(),
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

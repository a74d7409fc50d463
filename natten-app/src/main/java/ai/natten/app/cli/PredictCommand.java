package ai.natten.app.cli;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.translate.TranslateException;
import ai.natten.app.data.ImageFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code natten predict}: the top-k classes of image files through Criteria and a Predictor. */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = "Print the top-k classes of image files (or every image under folders).")
final class PredictCommand implements Callable<Integer> {

    @ParentCommand NattenCommand parent;

    @Mixin RuntimeOptions runtime = new RuntimeOptions();

    @Mixin ModelSource source = new ModelSource();

    @Option(
            names = "--top-k",
            defaultValue = "5",
            description = "classes per image (${DEFAULT-VALUE})")
    int topK;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files or folders")
    List<Path> inputs;

    @Override
    public Integer call() throws IOException, TranslateException {
        if (topK < 1) {
            throw new IllegalArgumentException("--top-k must be at least 1, got " + topK);
        }
        source.check(); // a missing model is reported before the images
        List<Path> files = imageFiles();
        try (ModelSource.Loaded loaded = source.load(runtime.devices()[0]);
                Predictor<Image, Classifications> predictor = loaded.model().newPredictor()) {
            for (Path file : files) {
                Image image = Predictions.toImage(ImageFolder.decode(file));
                StringBuilder line = new StringBuilder(file.toString()).append(':');
                for (Classifications.Classification c : predictor.predict(image).topK(topK)) {
                    line.append(
                            String.format(
                                    Locale.ROOT,
                                    "  %s %.2f%%",
                                    c.getClassName(),
                                    100 * c.getProbability()));
                }
                parent.out().println(line);
            }
        }
        return 0;
    }

    private List<Path> imageFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path input : inputs) {
            if (Files.isDirectory(input)) {
                try (Stream<Path> walk = Files.walk(input)) {
                    walk.filter(ImageFolder::isImage).sorted().forEach(files::add);
                }
            } else if (Files.isRegularFile(input)) {
                files.add(input);
            } else {
                throw new NoSuchFileException(input.toString(), null, "image not found");
            }
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no image files in " + inputs);
        }
        return files;
    }
}

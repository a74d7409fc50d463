package ai.natten.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.repository.zoo.ZooModel;
import ai.natten.app.model.SavedModel;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * One short run on a 768-image Fashion-MNIST directory, then resume, evaluate and predict against
 * it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrainedModelTest {

    private Path dir;
    private Path data;
    private Path run;

    @BeforeAll
    void trainTwoEpochs(@TempDir Path temporary) throws IOException {
        dir = temporary;
        data = Fixtures.fashionMnist(dir.resolve("fashion"), 768, 200);
        run = dir.resolve("straight");
        Cli.Result result = Cli.run(trainArguments(run));
        assertEquals(0, result.exit(), result.toString());
    }

    private String[] trainArguments(Path output) {
        return new String[] {
            "train",
            "--fashion-mnist",
            data.toString(),
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--warmup-epochs",
            "0.5",
            "--drop-path",
            "0.1",
            "--workers",
            "2",
            "--show-predictions",
            "0",
            "--output",
            output.toString()
        };
    }

    private static JsonObject epoch(Path run, int index) throws IOException {
        JsonArray epochs =
                JsonParser.parseString(Files.readString(run.resolve("metrics.json")))
                        .getAsJsonArray();
        return epochs.get(index).getAsJsonObject();
    }

    @Test
    void resumingFromTheFirstEpochReproducesTheSecond() throws IOException {
        Path resumed = dir.resolve("resumed");
        Files.createDirectories(resumed.resolve("checkpoints"));
        Files.copy(run.resolve("run.json"), resumed.resolve("run.json"));
        Files.copy(run.resolve("metrics.json"), resumed.resolve("metrics.json"));
        Path checkpoint = run.resolve("checkpoints/epoch-0001");
        Path copy = resumed.resolve("checkpoints/epoch-0001");
        Files.createDirectories(copy);
        try (var files = Files.list(checkpoint)) {
            for (Path file : files.toList()) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }

        Cli.Result result =
                Cli.run("train", "--resume", resumed.toString(), "--show-predictions", "0");
        assertEquals(0, result.exit(), result.toString());
        assertTrue(result.out().contains("resuming from"), result.out());

        assertArrayEquals(
                Files.readAllBytes(run.resolve("model/model-0002.params")),
                Files.readAllBytes(resumed.resolve("model/model-0002.params")),
                "parameters after epoch 2 are bit-identical");
        for (String key : List.of("trainLoss", "trainTop1", "valLoss", "valTop1", "learningRate")) {
            assertEquals(
                    epoch(run, 1).get(key).getAsDouble(),
                    epoch(resumed, 1).get(key).getAsDouble(),
                    key);
        }
        assertEquals(
                epoch(run, 0).get("trainLoss").getAsDouble(),
                epoch(resumed, 0).get("trainLoss").getAsDouble());
    }

    @Test
    void evaluateScoresWhatValidationMeasured() throws IOException {
        Cli.Result result =
                Cli.run(
                        "evaluate",
                        "--model-dir",
                        run.resolve("model").toString(),
                        "--fashion-mnist",
                        data.toString());
        assertEquals(0, result.exit(), result.toString());
        Matcher top1 = Pattern.compile("top-1 ([0-9.]+)%").matcher(result.out());
        assertTrue(top1.find(), result.out());
        assertEquals(
                String.format(
                        Locale.ROOT, "%.2f", 100 * epoch(run, 1).get("valTop1").getAsDouble()),
                top1.group(1));
    }

    @Test
    void predictAgreesWithDjlsOwnImageLoading() throws Exception {
        Path images = dir.resolve("images");
        Path a = Fixtures.png(images.resolve("a.png"), 0);
        Fixtures.png(images.resolve("more/b.png"), 1);
        Fixtures.png(images.resolve("more/c.png"), 2);
        Cli.Result result =
                Cli.run(
                        "predict",
                        "--model-dir",
                        run.resolve("model").toString(),
                        "--top-k",
                        "3",
                        a.toString(),
                        images.resolve("more").toString());
        assertEquals(0, result.exit(), result.toString());
        List<String> lines = result.out().lines().toList();
        assertEquals(3, lines.size(), result.out());

        try (ZooModel<Image, Classifications> model =
                        SavedModel.load(run.resolve("model"), Device.cpu());
                Predictor<Image, Classifications> predictor = model.newPredictor()) {
            for (String line : lines) {
                Path file = Path.of(line.substring(0, line.indexOf(':')));
                Image image = ImageFactory.getInstance().fromFile(file);
                List<Classifications.Classification> top = predictor.predict(image).topK(3);
                StringBuilder expected = new StringBuilder(file + ":");
                for (Classifications.Classification c : top) {
                    expected.append(
                            String.format(
                                    Locale.ROOT,
                                    "  %s %.2f%%",
                                    c.getClassName(),
                                    100 * c.getProbability()));
                }
                assertEquals(expected.toString(), line);
            }
        }
    }

    @Test
    void corruptOrIncompleteModelsAreClearErrors() throws IOException {
        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        Cli.Result noCard = Cli.run("evaluate", "--model-dir", broken.toString());
        assertEquals(1, noCard.exit(), noCard.toString());
        assertTrue(noCard.err().contains("model.json missing"), noCard.err());

        Files.copy(run.resolve("model/model.json"), broken.resolve("model.json"));
        Cli.Result noParameters = Cli.run("evaluate", "--model-dir", broken.toString());
        assertEquals(1, noParameters.exit(), noParameters.toString());
        assertTrue(noParameters.err().contains("parameter file missing"), noParameters.err());

        byte[] parameters = Files.readAllBytes(run.resolve("model/model-0002.params"));
        Files.write(broken.resolve("model-0002.params"), java.util.Arrays.copyOf(parameters, 100));
        Cli.Result truncated = Cli.run("evaluate", "--model-dir", broken.toString());
        assertEquals(1, truncated.exit(), truncated.toString());
        assertTrue(truncated.err().contains("parameters"), truncated.err());

        Files.writeString(broken.resolve("model.json"), "{ not json");
        Cli.Result badCard = Cli.run("evaluate", "--model-dir", broken.toString());
        assertEquals(1, badCard.exit(), badCard.toString());
        assertTrue(badCard.err().contains("malformed model card"), badCard.err());
    }
}

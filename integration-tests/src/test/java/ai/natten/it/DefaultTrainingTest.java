package ai.natten.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's main job, shortened to two epochs. */
class DefaultTrainingTest {

    @TempDir Path dir;

    @Test
    void defaultRunTrainsSavesReloadsAndPredicts() throws Exception {
        Path run = dir.resolve("run");
        Cli.Result result =
                Cli.run(
                        "train",
                        "--epochs",
                        "2",
                        "--output",
                        run.toString(),
                        "--show-predictions",
                        "4");
        assertEquals(0, result.exit(), result.toString());

        JsonArray epochs =
                JsonParser.parseString(Files.readString(run.resolve("metrics.json")))
                        .getAsJsonArray();
        assertEquals(2, epochs.size());
        JsonObject last = epochs.get(1).getAsJsonObject();
        double top1 = last.get("valTop1").getAsDouble();
        // 10 classes: chance is 10%; two epochs of the default recipe reach well above 50%
        assertTrue(top1 > 0.5, "validation top-1 " + top1);
        assertTrue(
                last.get("trainLoss").getAsDouble()
                        < epochs.get(0).getAsJsonObject().get("trainLoss").getAsDouble(),
                "the loss falls");

        // the model reloaded through Criteria scores exactly what training's validation measured
        Matcher reloaded =
                Pattern.compile("reloaded through Criteria: top-1 ([0-9.]+)%")
                        .matcher(result.out());
        assertTrue(reloaded.find(), result.out());
        assertEquals(String.format(Locale.ROOT, "%.2f", 100 * top1), reloaded.group(1));
        assertEquals(4, result.out().lines().filter(l -> l.startsWith("  image ")).count());

        assertEquals(3, Files.readAllLines(run.resolve("metrics.csv")).size());
        BufferedImage plot = ImageIO.read(run.resolve("curves.png").toFile());
        assertEquals(1000, plot.getWidth());
        assertTrue(Files.isRegularFile(run.resolve("model/model.json")));
        assertTrue(Files.isRegularFile(run.resolve("model/model-0002.params")));
        assertTrue(Files.isRegularFile(run.resolve("checkpoints/epoch-0002/optimizer.ndlist")));
    }
}

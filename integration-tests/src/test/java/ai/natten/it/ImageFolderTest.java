package ai.natten.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.natten.app.data.FashionMnist;
import ai.natten.app.data.LabeledImages;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training and evaluation from an ImageNet-style folder of PNG files. */
class ImageFolderTest {

    @TempDir Path dir;

    @Test
    void trainsAndEvaluatesFromClassSubFolders() throws Exception {
        LabeledImages test = FashionMnist.embedded().validation();
        Path root = dir.resolve("imagenet-like");
        int[] perSplit = new int[2];
        for (int i = 0; i < 200; i++) {
            String name = FashionMnist.CLASSES.get(test.label(i)).replace('/', '-');
            String split = i < 150 ? "train" : "val";
            Fixtures.png(root.resolve(split).resolve(name).resolve(i + ".png"), i);
            perSplit[i < 150 ? 0 : 1]++;
        }
        Path run = dir.resolve("run");
        Cli.Result train =
                Cli.run(
                        "train",
                        "--data",
                        root.toString(),
                        "--image-size",
                        "28",
                        "--model",
                        "nat_fashion",
                        "--epochs",
                        "1",
                        "--batch-size",
                        "16",
                        "--output",
                        run.toString(),
                        "--show-predictions",
                        "2");
        assertEquals(0, train.exit(), train.toString());
        JsonObject config =
                JsonParser.parseString(Files.readString(run.resolve("run.json"))).getAsJsonObject();
        assertTrue(config.get("dataset").getAsString().startsWith("folder:"), config.toString());
        assertEquals(10, config.getAsJsonArray("classes").size());

        Cli.Result evaluate =
                Cli.run(
                        "evaluate",
                        "--model-dir",
                        run.resolve("model").toString(),
                        "--data",
                        root.toString());
        assertEquals(0, evaluate.exit(), evaluate.toString());
        assertTrue(
                evaluate.out().contains("(" + perSplit[1] + " images, 10 classes)"),
                evaluate.out());
    }
}

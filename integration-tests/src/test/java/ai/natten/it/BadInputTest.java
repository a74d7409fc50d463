package ai.natten.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad arguments and missing or corrupt files: one clear line, a non-zero status, no trace. */
class BadInputTest {

    @TempDir Path dir;

    private static void assertFails(int status, String expected, String... args) {
        Cli.Result result = Cli.run(args);
        assertEquals(status, result.exit(), result.toString());
        assertTrue(result.err().contains(expected), "expected '" + expected + "' in " + result);
        assertFalse(result.err().contains("\tat "), "no stack trace: " + result);
    }

    @Test
    void badArgumentsExitWithTwo() {
        assertFails(2, "--epochs must be at least 1", "train", "--epochs", "0");
        assertFails(2, "--lr must be positive", "train", "--lr", "-1");
        assertFails(
                2,
                "--warmup-epochs must be in [0, --epochs)",
                "train",
                "--epochs",
                "2",
                "--warmup-epochs",
                "3");
        assertFails(2, "bf16 is not supported", "train", "--precision", "bf16");
        assertFails(
                2, "fp16 needs GPU devices", "train", "--precision", "fp16", "--devices", "cpu");
        assertFails(2, "unknown model 'nope'", "train", "--model", "nope", "--epochs", "1");
        assertFails(2, "--devices: gpu3 does not exist", "train", "--devices", "gpu3");
        assertFails(2, "--backend must be auto, composite or fused", "train", "--backend", "cuda");
        assertFails(2, "Unknown option: '--bogus'", "train", "--bogus");
        assertFails(
                2,
                "either --data or --fashion-mnist",
                "train",
                "--data",
                "x",
                "--fashion-mnist",
                "y");
        assertFails(
                2,
                "--top-k must be at least 1",
                "predict",
                "--model-dir",
                "m",
                "--top-k",
                "0",
                "x.png");
        assertFails(2, "give exactly one of --model-dir or --zoo", "evaluate");
    }

    @Test
    void missingFilesExitWithOne() {
        Path missing = dir.resolve("missing");
        assertFails(1, "image folder not found", "train", "--data", missing.toString());
        assertFails(
                1,
                "Fashion-MNIST directory not found",
                "train",
                "--fashion-mnist",
                missing.toString());
        assertFails(1, "run directory not found", "train", "--resume", missing.toString());
        assertFails(
                1,
                "model directory not found",
                "predict",
                "--model-dir",
                missing.toString(),
                "a.png");
    }

    @Test
    void corruptFilesAreNamed() throws IOException {
        Path fashion = Fixtures.fashionMnist(dir.resolve("fashion"), 64, 16);
        Path labels = fashion.resolve("t10k-labels-idx1-ubyte.gz");
        Files.write(labels, new byte[] {1, 2, 3});
        assertFails(
                1,
                labels.toString(),
                "train",
                "--fashion-mnist",
                fashion.toString(),
                "--output",
                dir.resolve("corrupt-labels-run").toString());

        Path existing = dir.resolve("existing");
        Files.createDirectories(existing);
        Files.writeString(existing.resolve("run.json"), "{}");
        assertFails(2, "already holds a run", "train", "--output", existing.toString());

        Path run = dir.resolve("not-a-run");
        Files.createDirectories(run);
        assertFails(1, "not a run directory", "train", "--resume", run.toString());

        Path folder = dir.resolve("folder");
        for (String split : new String[] {"train", "val"}) {
            for (String label : new String[] {"cat", "dog"}) {
                Files.createDirectories(folder.resolve(split).resolve(label));
                Files.write(
                        folder.resolve(split).resolve(label).resolve("x.png"), new byte[] {1, 2});
            }
        }
        assertFails(
                1,
                "x.png: not a readable image",
                "train",
                "--data",
                folder.toString(),
                "--image-size",
                "28",
                "--model",
                "nat_fashion",
                "--batch-size",
                "1",
                "--epochs",
                "1",
                "--warmup-epochs",
                "0",
                "--output",
                dir.resolve("unreadable-image-run").toString());
    }
}

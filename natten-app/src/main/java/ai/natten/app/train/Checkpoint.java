package ai.natten.app.train;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The end-of-epoch state of a run, enough to continue it exactly: the parameters ({@code
 * model-NNNN.params}), the optimizer's moments ({@code optimizer.ndlist}) and the counters ({@code
 * state.json}), in {@code <run>/checkpoints/epoch-NNNN}. Each checkpoint is written to a temporary
 * folder and renamed into place, so a run stopped mid-write leaves the previous one intact.
 */
public final class Checkpoint {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();
    private static final String PREFIX = "epoch-";
    private static final String STATE = "state.json";
    private static final String OPTIMIZER = "optimizer.ndlist";
    private static final String PARAMETERS = "model";

    private Checkpoint() {}

    /**
     * The counters of a checkpoint.
     *
     * @param epochs epochs completed
     * @param globalStep optimizer steps taken
     * @param optimizerSteps each parameter's step count, by path name
     * @param lossScale the fp16 loss scale
     * @param goodSteps fp16 steps since the loss scale changed
     */
    public record State(
            int epochs,
            long globalStep,
            Map<String, Integer> optimizerSteps,
            float lossScale,
            int goodSteps) {}

    /**
     * Writes the checkpoint of a completed epoch and removes all but the newest {@code keep}.
     *
     * @return the checkpoint directory
     */
    public static Path save(
            Path runDirectory,
            int epochs,
            long globalStep,
            Model model,
            DataParallelTrainer trainer,
            int keep)
            throws IOException {
        Path root = runDirectory.resolve("checkpoints");
        Path target = root.resolve(String.format("%s%04d", PREFIX, epochs));
        Path temporary = root.resolve(".writing-" + target.getFileName());
        Files.createDirectories(temporary);
        model.setProperty("Epoch", String.valueOf(epochs));
        model.save(temporary, PARAMETERS);
        Map<String, Integer> steps = new HashMap<>();
        NDList moments = trainer.exportOptimizerState(steps);
        try (OutputStream out = Files.newOutputStream(temporary.resolve(OPTIMIZER))) {
            moments.encode(out);
        }
        State state =
                new State(epochs, globalStep, steps, trainer.lossScale(), trainer.goodSteps());
        Files.writeString(temporary.resolve(STATE), GSON.toJson(state));
        deleteRecursively(target);
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
        List<Path> all = list(root);
        for (int i = 0; i < all.size() - Math.max(1, keep); i++) {
            deleteRecursively(all.get(i));
        }
        return target;
    }

    /**
     * Finds the checkpoint to resume from: the argument itself when it is a checkpoint, else the
     * newest checkpoint of the run directory.
     *
     * @throws IOException when there is none
     */
    public static Path latest(Path runOrCheckpoint) throws IOException {
        if (Files.isRegularFile(runOrCheckpoint.resolve(STATE))) {
            return runOrCheckpoint;
        }
        if (!Files.isDirectory(runOrCheckpoint)) {
            throw new NoSuchFileException(
                    runOrCheckpoint.toString(), null, "run directory not found");
        }
        List<Path> all = list(runOrCheckpoint.resolve("checkpoints"));
        if (all.isEmpty()) {
            throw new NoSuchFileException(
                    runOrCheckpoint.resolve("checkpoints").toString(),
                    null,
                    "no checkpoint to resume from (a run writes one after each epoch)");
        }
        return all.get(all.size() - 1);
    }

    /**
     * Reads a checkpoint's counters and loads its parameters into the model.
     *
     * @throws IOException when a file is missing or corrupt (the message names it)
     */
    public static State loadParameters(Path checkpoint, Model model) throws IOException {
        Path stateFile = checkpoint.resolve(STATE);
        State state;
        try {
            state = GSON.fromJson(Files.readString(stateFile), State.class);
        } catch (JsonParseException e) {
            throw new IOException(stateFile + ": malformed (" + e.getMessage() + ")", e);
        }
        if (state == null || state.optimizerSteps() == null) {
            throw new IOException(stateFile + ": incomplete checkpoint state");
        }
        try {
            model.load(checkpoint, PARAMETERS);
        } catch (MalformedModelException | IOException | RuntimeException e) {
            throw new IOException(
                    checkpoint
                            + ": corrupt or mismatched parameters ("
                            + (e.getMessage() != null
                                    ? e.getMessage()
                                    : e.getClass().getSimpleName())
                            + ")",
                    e);
        }
        return state;
    }

    /**
     * Restores the optimizer's moments and the loss scale of a checkpoint.
     *
     * @throws IOException when the optimizer file is missing or corrupt
     */
    public static void loadOptimizer(
            Path checkpoint, State state, DataParallelTrainer trainer, NDManager manager)
            throws IOException {
        Path file = checkpoint.resolve(OPTIMIZER);
        try (NDManager scratch = manager.newSubManager();
                InputStream in = Files.newInputStream(file)) {
            NDList arrays = NDList.decode(scratch, in);
            trainer.importOptimizerState(arrays, state.optimizerSteps());
        } catch (NoSuchFileException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IOException(file + ": corrupt optimizer state (" + e.getMessage() + ")", e);
        }
        trainer.restoreLossScale(state.lossScale(), state.goodSteps());
    }

    private static List<Path> list(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> children = Files.list(root)) {
            return children.filter(p -> p.getFileName().toString().startsWith(PREFIX))
                    .filter(p -> Files.isRegularFile(p.resolve(STATE)))
                    .sorted()
                    .toList();
        }
    }

    private static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

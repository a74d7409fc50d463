package ai.natten.app.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The per-epoch log of a run: {@code metrics.csv}, {@code metrics.json} and the plot {@code
 * curves.png}, all rewritten after every epoch so they are complete whenever the run stops.
 */
public final class RunLog {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private final Path directory;
    private final List<EpochRecord> records = new ArrayList<>();

    private RunLog(Path directory) {
        this.directory = directory;
    }

    /** Starts an empty log in a run directory. */
    public static RunLog create(Path directory) {
        return new RunLog(directory);
    }

    /**
     * Reopens a run's log keeping its first {@code epochs} records (those a checkpoint covers).
     *
     * @throws IOException when the JSON log is missing, malformed or shorter than {@code epochs}
     */
    public static RunLog resume(Path directory, int epochs) throws IOException {
        RunLog log = new RunLog(directory);
        Path json = directory.resolve("metrics.json");
        EpochRecord[] saved;
        try {
            saved = GSON.fromJson(Files.readString(json), EpochRecord[].class);
        } catch (JsonParseException e) {
            throw new IOException(json + ": malformed log (" + e.getMessage() + ")", e);
        }
        if (saved == null || saved.length < epochs) {
            throw new IOException(json + ": holds fewer than the " + epochs + " epochs resumed");
        }
        log.records.addAll(Arrays.asList(saved).subList(0, epochs));
        return log;
    }

    /** Returns the records so far. */
    public List<EpochRecord> records() {
        return List.copyOf(records);
    }

    /** Appends an epoch and rewrites the CSV, JSON and plot. */
    public void append(EpochRecord record) throws IOException {
        records.add(record);
        StringBuilder csv = new StringBuilder(EpochRecord.CSV_HEADER).append('\n');
        for (EpochRecord r : records) {
            csv.append(r.toCsv()).append('\n');
        }
        Files.writeString(directory.resolve("metrics.csv"), csv);
        Files.writeString(directory.resolve("metrics.json"), GSON.toJson(records));
        CurvePlot.write(records, directory.resolve("curves.png"));
    }
}

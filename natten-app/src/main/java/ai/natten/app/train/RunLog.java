package ai.natten.app.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.awt.AWTError;
import java.io.IOException;
import java.io.PrintStream;
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

    /** Writes the plot of the records to a PNG file. */
    @FunctionalInterface
    interface PlotWriter {
        void write(List<EpochRecord> records, Path file) throws IOException;
    }

    private final Path directory;
    private final List<EpochRecord> records = new ArrayList<>();
    private final PlotWriter plot;
    private final PrintStream warnings;
    private boolean plotting = true;

    RunLog(Path directory, PlotWriter plot, PrintStream warnings) {
        this.directory = directory;
        this.plot = plot;
        this.warnings = warnings;
    }

    private RunLog(Path directory) {
        this(directory, CurvePlot::write, System.err);
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

    /**
     * Appends an epoch and rewrites the CSV, JSON and plot. A Java that cannot draw here (e.g. a
     * JRE whose java.awt native libraries lack their system libraries; the plot's text needs no
     * font library, see {@link PixelFont}) loses only the plot: one warning says so and the run
     * goes on.
     */
    public void append(EpochRecord record) throws IOException {
        records.add(record);
        StringBuilder csv = new StringBuilder(EpochRecord.CSV_HEADER).append('\n');
        for (EpochRecord r : records) {
            csv.append(r.toCsv()).append('\n');
        }
        Files.writeString(directory.resolve("metrics.csv"), csv);
        Files.writeString(directory.resolve("metrics.json"), GSON.toJson(records));
        if (plotting) {
            try {
                plot.write(records, directory.resolve("curves.png"));
            } catch (LinkageError | AWTError e) {
                plotting = false;
                warnings.println(
                        "natten: no curves.png, this Java cannot draw here ("
                                + e
                                + "); metrics.csv and metrics.json are still written");
            }
        }
    }
}

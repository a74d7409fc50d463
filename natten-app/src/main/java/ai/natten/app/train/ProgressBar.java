package ai.natten.app.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar with loss, throughput and ETA. On a terminal it redraws in place; in a
 * log (no console) it prints a line at every tenth of the work.
 */
public final class ProgressBar {

    private static final int WIDTH = 24;

    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean interactive;
    private final long start = System.nanoTime();
    private long done;
    private int lastTenth = -1;
    private long lastDraw;

    /**
     * Starts a bar.
     *
     * @param label what is progressing, e.g. {@code "epoch 3/10"}
     * @param total units of work (images)
     * @param out where to draw
     */
    public ProgressBar(String label, long total, PrintStream out) {
        this.label = label;
        this.total = Math.max(1, total);
        this.out = out;
        this.interactive = System.console() != null;
    }

    /**
     * Advances the bar.
     *
     * @param units work done since the last call
     * @param loss the running loss to show, or NaN for none
     */
    public void advance(long units, double loss) {
        done += units;
        long now = System.nanoTime();
        int tenth = (int) (10 * done / total);
        boolean finished = done >= total;
        if (interactive) {
            if (finished || now - lastDraw > 200_000_000L) {
                out.print("\r" + line(loss, now));
                if (finished) {
                    out.println();
                }
                out.flush();
                lastDraw = now;
            }
        } else if (tenth != lastTenth) {
            out.println(line(loss, now));
            lastTenth = tenth;
        }
    }

    private String line(double loss, long now) {
        double seconds = (now - start) / 1e9;
        double rate = done / Math.max(seconds, 1e-9);
        double eta = (total - done) / Math.max(rate, 1e-9);
        int filled = (int) (WIDTH * Math.min(done, total) / total);
        String bar =
                "=".repeat(filled)
                        + (filled < WIDTH ? ">" : "")
                        + " ".repeat(Math.max(0, WIDTH - filled - 1));
        String lossText = Double.isNaN(loss) ? "" : String.format(Locale.ROOT, " loss %.4f", loss);
        return String.format(
                Locale.ROOT,
                "%s [%s] %d/%d%s %.1f img/s ETA %s",
                label,
                bar,
                done,
                total,
                lossText,
                rate,
                clock(eta));
    }

    /** Formats seconds as {@code mm:ss} or {@code h:mm:ss}. */
    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600
                ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
    }
}

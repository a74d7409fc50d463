package ai.natten.app.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/**
 * Draws the loss and accuracy curves of a run into a PNG with java.awt (headless): loss on the left
 * panel (train and validation), accuracy on the right (train top-1, validation top-1 and top-5),
 * epochs on the horizontal axes. Labels use {@link PixelFont}, so no font library is needed.
 */
public final class CurvePlot {

    private static final int WIDTH = 1000;
    private static final int HEIGHT = 420;
    private static final int MARGIN = 60;
    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c)
    };

    private CurvePlot() {}

    /** Writes the plot of the records (at least one) to a PNG file. */
    public static void write(List<EpochRecord> records, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            int panel = WIDTH / 2;
            double maxLoss =
                    records.stream()
                            .mapToDouble(r -> Math.max(r.trainLoss(), r.valLoss()))
                            .filter(Double::isFinite)
                            .max()
                            .orElse(1);
            drawPanel(
                    g,
                    0,
                    panel,
                    "loss",
                    records,
                    maxLoss * 1.05,
                    new String[] {"train", "val"},
                    List.of(EpochRecord::trainLoss, EpochRecord::valLoss));
            drawPanel(
                    g,
                    panel,
                    panel,
                    "accuracy",
                    records,
                    1.0,
                    new String[] {"train top-1", "val top-1", "val top-5"},
                    List.of(EpochRecord::trainTop1, EpochRecord::valTop1, EpochRecord::valTop5));
        } finally {
            g.dispose();
        }
        ImageIO.write(image, "png", file.toFile());
    }

    private static void drawPanel(
            Graphics2D g,
            int left,
            int width,
            String title,
            List<EpochRecord> records,
            double maxY,
            String[] names,
            List<ToDoubleFunction<EpochRecord>> series) {
        int x0 = left + MARGIN;
        int x1 = left + width - MARGIN / 2;
        int y0 = HEIGHT - MARGIN;
        int y1 = MARGIN;
        g.setColor(Color.BLACK);
        label(g, title, x0, y1 - 30);
        g.drawLine(x0, y0, x1, y0);
        g.drawLine(x0, y0, x0, y1);
        int epochs = records.size();
        for (int tick = 0; tick <= 4; tick++) {
            double value = maxY * tick / 4;
            int y = (int) Math.round(y0 - (y0 - y1) * (double) tick / 4);
            g.setColor(new Color(0xdddddd));
            g.drawLine(x0 + 1, y, x1, y);
            g.setColor(Color.BLACK);
            String text = String.format(java.util.Locale.ROOT, "%.2f", value);
            label(g, text, x0 - 6 - PixelFont.width(text), y + PixelFont.height() / 2);
        }
        label(g, "epoch 1", x0, y0 + 18);
        String last = String.valueOf(epochs);
        label(g, last, x1 - PixelFont.width(last), y0 + 18);
        g.setStroke(new BasicStroke(2f));
        int legendX = x0; // the legend on a line of its own between the title and the plot
        for (int s = 0; s < series.size(); s++) {
            g.setColor(COLORS[s]);
            int previousX = -1;
            int previousY = -1;
            for (int e = 0; e < epochs; e++) {
                double value = series.get(s).applyAsDouble(records.get(e));
                if (!Double.isFinite(value)) {
                    previousX = -1;
                    continue;
                }
                int x = epochs == 1 ? x0 : x0 + (x1 - x0) * e / (epochs - 1);
                int y = (int) Math.round(y0 - (y0 - y1) * Math.min(value, maxY) / maxY);
                g.fillOval(x - 3, y - 3, 6, 6);
                if (previousX >= 0) {
                    g.drawLine(previousX, previousY, x, y);
                }
                previousX = x;
                previousY = y;
            }
            label(g, names[s], legendX, y1 - 8);
            legendX += PixelFont.width(names[s]) + 16;
        }
        g.setStroke(new BasicStroke(1f));
    }

    /** Draws a label whose baseline is at {@code baseline}, as drawString would. */
    private static void label(Graphics2D g, String text, int x, int baseline) {
        PixelFont.draw(g, text, x, baseline - PixelFont.height());
    }
}

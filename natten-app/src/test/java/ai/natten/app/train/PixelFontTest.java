package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

class PixelFontTest {

    /** Every character the plot writes: its titles, legends and numbers. */
    private static final String PLOT_TEXT = "loss train val accuracy top-1 top-5 epoch 0123456789.";

    @Test
    void everyCharacterOfThePlotHasItsOwnWellFormedGlyph() {
        String[] box = PixelFont.glyph('\u00a7');
        for (char c : PLOT_TEXT.toCharArray()) {
            String[] glyph = PixelFont.glyph(c);
            assertNotSame(box, glyph, "no glyph for '" + c + "'");
            assertEquals(7, glyph.length, "rows of '" + c + "'");
            for (String row : glyph) {
                assertTrue(row.matches("[#.]{5}"), "'" + c + "': " + row);
            }
        }
    }

    @Test
    void drawsExactlyTheGlyphsInkAtItsScale() {
        String text = "top-1 0.75 q"; // 'q' is not in the font: a hollow box
        BufferedImage image =
                new BufferedImage(
                        PixelFont.width(text) + 4,
                        PixelFont.height() + 4,
                        BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(Color.WHITE);
        PixelFont.draw(g, text, 2, 2);
        g.dispose();
        long ink = 0;
        for (char c : text.toCharArray()) {
            for (String row : PixelFont.glyph(c)) {
                ink += row.chars().filter(x -> x == '#').count();
            }
        }
        long lit = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                lit += (image.getRGB(x, y) & 0xffffff) != 0 ? 1 : 0;
            }
        }
        assertEquals(ink * PixelFont.SCALE * PixelFont.SCALE, lit);
        // the first glyph's top-left ink ('t' has it in column 1) starts at the given corner
        assertEquals(0xffffff, image.getRGB(2 + PixelFont.SCALE, 2) & 0xffffff);
        assertEquals(0, image.getRGB(1, 2) & 0xffffff);
        assertEquals((text.length() * 6 - 1) * PixelFont.SCALE, PixelFont.width(text));
    }
}

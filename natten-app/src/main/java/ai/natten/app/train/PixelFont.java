package ai.natten.app.train;

import java.awt.Graphics2D;
import java.util.Map;

/**
 * A 5x7 pixel font for the plot's labels, drawn as filled squares: text then needs no font library
 * (java.awt's fonts load native libraries, such as libharfbuzz, that headless servers often lack).
 * It has the characters the plot writes: digits, {@code . -}, space and the lowercase letters of
 * its labels; any other character is drawn as a hollow box.
 */
final class PixelFont {

    /** Screen pixels per font pixel. */
    static final int SCALE = 2;

    private static final int COLUMNS = 5;
    private static final int ROWS = 7;
    private static final String[] BOX = {
        "#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####"
    };
    private static final Map<Character, String[]> GLYPHS =
            Map.ofEntries(
                    Map.entry(
                            '0',
                            rows(".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###.")),
                    Map.entry(
                            '1',
                            rows("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###.")),
                    Map.entry(
                            '2',
                            rows(".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####")),
                    Map.entry(
                            '3',
                            rows("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###.")),
                    Map.entry(
                            '4',
                            rows("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#.")),
                    Map.entry(
                            '5',
                            rows("#####", "#....", "####.", "....#", "....#", "#...#", ".###.")),
                    Map.entry(
                            '6',
                            rows("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###.")),
                    Map.entry(
                            '7',
                            rows("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#...")),
                    Map.entry(
                            '8',
                            rows(".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###.")),
                    Map.entry(
                            '9',
                            rows(".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##..")),
                    Map.entry(
                            '.',
                            rows(".....", ".....", ".....", ".....", ".....", ".##..", ".##..")),
                    Map.entry(
                            '-',
                            rows(".....", ".....", ".....", ".###.", ".....", ".....", ".....")),
                    Map.entry(
                            ' ',
                            rows(".....", ".....", ".....", ".....", ".....", ".....", ".....")),
                    Map.entry(
                            'a',
                            rows(".....", ".....", ".###.", "....#", ".####", "#...#", ".####")),
                    Map.entry(
                            'c',
                            rows(".....", ".....", ".###.", "#....", "#....", "#...#", ".###.")),
                    Map.entry(
                            'e',
                            rows(".....", ".....", ".###.", "#...#", "#####", "#....", ".###.")),
                    Map.entry(
                            'h',
                            rows("#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#")),
                    Map.entry(
                            'i',
                            rows("..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###.")),
                    Map.entry(
                            'l',
                            rows(".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###.")),
                    Map.entry(
                            'n',
                            rows(".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#")),
                    Map.entry(
                            'o',
                            rows(".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###.")),
                    Map.entry(
                            'p',
                            rows(".....", ".....", "####.", "#...#", "#...#", "####.", "#....")),
                    Map.entry(
                            'r',
                            rows(".....", ".....", "#.##.", "##..#", "#....", "#....", "#....")),
                    Map.entry(
                            's',
                            rows(".....", ".....", ".####", "#....", ".###.", "....#", "####.")),
                    Map.entry(
                            't',
                            rows(".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##.")),
                    Map.entry(
                            'u',
                            rows(".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#")),
                    Map.entry(
                            'v',
                            rows(".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#..")),
                    Map.entry(
                            'y',
                            rows(".....", ".....", "#...#", "#...#", ".####", "....#", ".###.")));

    private PixelFont() {}

    private static String[] rows(String... rows) {
        return rows;
    }

    /** Returns the glyph of a character: {@code ROWS} strings of {@code COLUMNS}, '#' = ink. */
    static String[] glyph(char c) {
        return GLYPHS.getOrDefault(c, BOX);
    }

    /** Returns the width of {@code text} in screen pixels (one blank column between glyphs). */
    static int width(String text) {
        return text.isEmpty() ? 0 : (text.length() * (COLUMNS + 1) - 1) * SCALE;
    }

    /** Returns the height of a line in screen pixels. */
    static int height() {
        return ROWS * SCALE;
    }

    /** Draws {@code text} in the current color, its top-left corner at ({@code x}, {@code y}). */
    static void draw(Graphics2D g, String text, int x, int y) {
        for (int i = 0; i < text.length(); i++) {
            String[] glyph = glyph(text.charAt(i));
            int left = x + i * (COLUMNS + 1) * SCALE;
            for (int row = 0; row < ROWS; row++) {
                for (int column = 0; column < COLUMNS; column++) {
                    if (glyph[row].charAt(column) == '#') {
                        g.fillRect(left + column * SCALE, y + row * SCALE, SCALE, SCALE);
                    }
                }
            }
        }
    }
}

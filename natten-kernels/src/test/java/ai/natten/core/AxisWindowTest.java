package ai.natten.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AxisWindowTest {

    @Test
    void examplesOfTheDefinition() {
        AxisWindow plain = new AxisWindow(0, 10, 3, 1, 1, false);
        assertArrayEquals(new int[] {0, 1, 2}, plain.neighbours(0));
        assertArrayEquals(new int[] {4, 5, 6}, plain.neighbours(5));
        assertArrayEquals(new int[] {7, 8, 9}, plain.neighbours(9));
        assertArrayEquals(new int[] {3, 6, 9}, new AxisWindow(0, 10, 3, 3, 1, false).neighbours(9));
        assertArrayEquals(new int[] {0, 1}, new AxisWindow(0, 10, 3, 1, 1, true).neighbours(1));
        AxisWindow strided = new AxisWindow(0, 12, 4, 1, 2, false);
        assertArrayEquals(new int[] {1, 2, 3, 4}, strided.neighbours(2));
        assertArrayEquals(new int[] {1, 2, 3, 4}, strided.neighbours(3));
    }

    @Test
    void evenKernelPutsOneMoreTokenLeft() {
        AxisWindow w = new AxisWindow(0, 20, 4, 1, 1, false);
        assertArrayEquals(new int[] {8, 9, 10, 11}, w.neighbours(10));
    }

    @Test
    void strideEqualToKernelIsBlockedAttention() {
        AxisWindow w = new AxisWindow(0, 12, 4, 1, 4, false);
        for (int i = 0; i < 12; i++) {
            int block = i / 4 * 4;
            assertArrayEquals(new int[] {block, block + 1, block + 2, block + 3}, w.neighbours(i));
        }
    }

    /** Brute-force properties on random axes: size, group membership, monotone windows. */
    @Test
    void randomAxesKeepTheInvariants() {
        Random random = new Random();
        for (int trial = 0; trial < 2000; trial++) {
            int k = 2 + random.nextInt(8);
            int d = 1 + random.nextInt(4);
            int length = k * d + random.nextInt(20);
            int s = 1 + random.nextInt(k);
            boolean causal = random.nextBoolean();
            AxisWindow w = new AxisWindow(0, length, k, d, s, causal);
            int previousStart = -1;
            for (int i = 0; i < length; i++) {
                int[] n = w.neighbours(i);
                if (causal) {
                    assertTrue(n.length >= 1 && n.length <= k, w + " query " + i);
                    assertTrue(n[n.length - 1] <= i, w + " query " + i);
                } else {
                    assertEquals(k, n.length, w + " query " + i);
                }
                for (int j : n) {
                    assertEquals(i % d, j % d, w + " query " + i);
                    assertTrue(j >= 0 && j < length && w.contains(i, j));
                }
                if (i % d == 0) {
                    assertTrue(w.start(i) >= previousStart, "start must be monotone: " + w);
                    previousStart = w.start(i);
                }
            }
        }
    }

    @Test
    void invalidAxesNameTheConstraint() {
        assertMessage("kernel_size * dilation", () -> new AxisWindow(1, 10, 4, 3, 1, false));
        assertMessage(
                "kernel_size on axis 0 must be >= 2", () -> new AxisWindow(0, 10, 1, 1, 1, false));
        assertMessage("stride on axis 2", () -> new AxisWindow(2, 10, 3, 1, 4, false));
        assertMessage("dilation on axis 0", () -> new AxisWindow(0, 10, 3, 0, 1, false));
    }

    private static void assertMessage(String expected, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}

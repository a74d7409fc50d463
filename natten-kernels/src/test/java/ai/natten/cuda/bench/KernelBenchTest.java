package ai.natten.cuda.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs everywhere: the benchmark's argument parsing. */
class KernelBenchTest {

    @Test
    void problemListKeepsNamesWithCommasInParentheses() {
        assertEquals(
                List.of("2d-128-k31", "3d-16x48x80-k(7,15,23)", "3d-causal-t"),
                KernelBench.problemNames("2d-128-k31,3d-16x48x80-k(7,15,23),3d-causal-t"));
        assertEquals(List.of(""), KernelBench.problemNames(""));
    }
}

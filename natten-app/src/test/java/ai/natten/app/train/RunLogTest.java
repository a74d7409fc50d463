package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunLogTest {

    private final Random random = new Random();

    @Test
    void writesEveryFileAfterEachEpoch(@TempDir Path dir) throws IOException {
        RunLog log = RunLog.create(dir);
        EpochRecord first = record(1);
        log.append(first);
        log.append(record(2));
        List<String> csv = Files.readAllLines(dir.resolve("metrics.csv"));
        assertEquals(3, csv.size());
        assertEquals(EpochRecord.CSV_HEADER, csv.get(0));
        assertEquals(first.toCsv(), csv.get(1));
        assertTrue(Files.size(dir.resolve("curves.png")) > 0);
        assertEquals(List.of(first, log.records().get(1)), RunLog.resume(dir, 2).records());
    }

    @Test
    void aJavaThatCannotDrawLosesOnlyThePlotAndSaysSoOnce(@TempDir Path dir) throws IOException {
        int[] attempts = {0};
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        RunLog log =
                new RunLog(
                        dir,
                        (records, file) -> {
                            attempts[0]++;
                            throw new UnsatisfiedLinkError("libharfbuzz.so.0: cannot open");
                        },
                        new PrintStream(warnings, true, StandardCharsets.UTF_8));
        for (int epoch = 1; epoch <= 3; epoch++) {
            log.append(record(epoch));
        }
        assertEquals(1, attempts[0]);
        assertEquals(4, Files.readAllLines(dir.resolve("metrics.csv")).size());
        String said = warnings.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("no curves.png") && said.contains("libharfbuzz"), said);
        assertEquals(1, said.lines().count(), said);
    }

    private EpochRecord record(int epoch) {
        return new EpochRecord(
                epoch,
                1 + random.nextDouble(),
                random.nextDouble(),
                1 + random.nextDouble(),
                random.nextDouble(),
                random.nextDouble(),
                1e-3 * random.nextDouble(),
                10 + random.nextDouble(),
                500 + random.nextDouble());
    }
}

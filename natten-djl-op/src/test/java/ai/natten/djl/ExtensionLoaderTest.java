package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtensionLoaderTest {

    private static final String RECORD_2_7_1 = "NATTEN_TORCH_BUILD{torch=2.7.1;cuda=1;cxx11abi=0}";

    @TempDir Path dir;

    private final List<String> loaded = new ArrayList<>();

    @Test
    void unconfiguredSaysHowToConfigure() {
        Availability a = fake(RECORD_2_7_1).load(null, "PyTorch", "2.7.1");
        assertEquals(
                "no engine extension is configured: set -Dnatten.native.path or NATTEN_NATIVE_PATH"
                        + " to a libnatten_djl_torch.so built for libtorch 2.7.1 (build one against"
                        + " the engine's libtorch as in README 'Fused backend')",
                a.reason());
        assertEquals(List.of(), loaded);
    }

    @Test
    void aMismatchedVersionIsNeverLoaded() throws IOException {
        Path library = library("libnatten_djl_torch.so", "NATTEN_TORCH_BUILD{torch=2.11.0;cuda=1}");
        Availability a = fake(RECORD_2_7_1).load(library.toString(), "PyTorch", "2.7.1");
        assertFalse(a.isAvailable());
        assertEquals(
                "the engine extension "
                        + library
                        + " was built for libtorch 2.11.0 but the PyTorch engine runs libtorch"
                        + " 2.7.1; it was not loaded (build one against the engine's libtorch as"
                        + " in README 'Fused backend')",
                a.reason());
        assertEquals(List.of(), loaded);
    }

    @Test
    void aMatchingVersionIsLoadedFromAFileOrAFolder() throws IOException {
        Path library = library("libnatten_djl_torch.so", RECORD_2_7_1);
        Availability fromFile = fake(RECORD_2_7_1).load(library.toString(), "PyTorch", "2.7.1");
        Availability fromFolder = fake(RECORD_2_7_1).load(dir.toString(), "PyTorch", "2.7.1");
        assertTrue(fromFile.isAvailable(), fromFile.toString());
        assertTrue(fromFolder.isAvailable(), fromFolder.toString());
        assertNull(fromFile.reason());
        assertEquals(List.of(library.toString(), library.toString()), loaded);
    }

    @Test
    void aLocalVersionSuffixStillMatches() throws IOException {
        Path library =
                library("libnatten_djl_torch.so", "NATTEN_TORCH_BUILD{torch=2.11.0+cu130;cuda=1}");
        String record = "NATTEN_TORCH_BUILD{torch=2.11.0+cu130;cuda=1}";
        assertTrue(fake(record).load(library.toString(), "PyTorch", "2.11.0").isAvailable());
    }

    @Test
    void missingOrForeignFilesAreRefused() throws IOException {
        Path missing = dir.resolve("nothing.so");
        assertEquals(
                "the engine extension " + missing + " (from " + missing + ") does not exist",
                fake(RECORD_2_7_1).load(missing.toString(), "PyTorch", "2.7.1").reason());

        Path foreign = library("libother.so", "no record in here");
        assertEquals(
                "cannot read the engine extension's build record: "
                        + foreign
                        + " is not a natten engine extension (it holds no NATTEN_TORCH_BUILD{...})",
                fake(RECORD_2_7_1).load(foreign.toString(), "PyTorch", "2.7.1").reason());

        Path cpuOnly = library("libcpu.so", "NATTEN_TORCH_BUILD{torch=2.7.1;cuda=0}");
        assertTrue(
                fake(RECORD_2_7_1)
                        .load(cpuOnly.toString(), "PyTorch", "2.7.1")
                        .reason()
                        .contains("was built without CUDA"));

        assertEquals(
                "the fused backend needs DJL's PyTorch engine, the arrays come from OnnxRuntime",
                fake(RECORD_2_7_1).load(cpuOnly.toString(), "OnnxRuntime", "1.20").reason());
        assertEquals(List.of(), loaded);
    }

    @Test
    void aLibraryReportingAnotherRecordAfterLoadingIsRefused() throws IOException {
        Path library = library("libnatten_djl_torch.so", RECORD_2_7_1);
        String other = "NATTEN_TORCH_BUILD{torch=2.7.0;cuda=1;cxx11abi=0}";
        Availability a = fake(other).load(library.toString(), "PyTorch", "2.7.1");
        assertEquals(
                "the engine extension "
                        + library
                        + " reports "
                        + other
                        + " after loading, its file says "
                        + RECORD_2_7_1,
                a.reason());
    }

    @Test
    void aLoadFailureIsAReasonNotACrash() throws IOException {
        // A real System.load of a file that has the right record but is no shared object.
        Path library = library("libnatten_djl_torch.so", RECORD_2_7_1);
        Availability a = ExtensionLoader.system().load(library.toString(), "PyTorch", "2.7.1");
        assertFalse(a.isAvailable());
        assertTrue(
                a.reason().startsWith("cannot load the engine extension " + library + ": "),
                a.reason());
    }

    @Test
    void versionsCompareByRelease() {
        assertTrue(BuildRecord.sameRelease("2.11.0+cu130", "2.11.0"));
        assertTrue(BuildRecord.sameRelease("2.7.1", " 2.7.1-precxx11"));
        assertFalse(BuildRecord.sameRelease("2.7.1", "2.7.10"));
        assertFalse(BuildRecord.sameRelease("2.11.0", "2.1.1"));
    }

    @Test
    void theRecordIsFoundAmongBinaryBytes() {
        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        String content =
                new String(junk, StandardCharsets.ISO_8859_1)
                        .replace("N", "n")
                        .concat("NATTEN_TORCH_BUILD{torch=2.11.0;cuda=1;cxx11abi=1}\0tail");
        BuildRecord record = BuildRecord.parse(content, "lib");
        assertEquals("2.11.0", record.torchVersion());
        assertTrue(record.cuda());
        assertEquals("NATTEN_TORCH_BUILD{torch=2.11.0;cuda=1;cxx11abi=1}", record.text());
    }

    /** Writes a file of random bytes with the given text in the middle. */
    private Path library(String name, String embedded) throws IOException {
        Random random = new Random(name.hashCode());
        byte[] head = new byte[2048];
        byte[] tail = new byte[2048];
        random.nextBytes(head);
        random.nextBytes(tail);
        for (byte[] part : new byte[][] {head, tail}) {
            for (int i = 0; i < part.length; i++) {
                if (part[i] == 'N') {
                    part[i] = 'n';
                }
            }
        }
        Path path = dir.resolve(name);
        Files.write(path, head);
        Files.write(
                path,
                embedded.getBytes(StandardCharsets.ISO_8859_1),
                java.nio.file.StandardOpenOption.APPEND);
        Files.write(path, tail, java.nio.file.StandardOpenOption.APPEND);
        return path;
    }

    /** A loader that records what it would load and reports the given record once loaded. */
    private ExtensionLoader fake(String recordAfterLoad) {
        return new ExtensionLoader(
                new ExtensionLoader.NativeAccess() {
                    @Override
                    public void load(String absolutePath) {
                        loaded.add(absolutePath);
                    }

                    @Override
                    public String loadedRecord() {
                        return recordAfterLoad;
                    }
                });
    }
}

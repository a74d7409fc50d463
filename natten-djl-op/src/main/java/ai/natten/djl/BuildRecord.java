package ai.natten.djl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What the engine extension was built for, as embedded in its binary: {@code
 * NATTEN_TORCH_BUILD{torch=2.11.0;cuda=1;cxx11abi=1}}. It is read from the file's bytes, so a
 * library built for another libtorch is rejected without being loaded (loading it could abort the
 * JVM inside libtorch).
 */
final class BuildRecord {

    static final String MARKER = "NATTEN_TORCH_BUILD{";

    private final String text;
    private final Map<String, String> fields;

    private BuildRecord(String text, Map<String, String> fields) {
        this.text = text;
        this.fields = fields;
    }

    /**
     * Reads the record from a library file.
     *
     * @throws IllegalArgumentException if the file holds no record
     * @throws IOException if the file cannot be read
     */
    static BuildRecord read(Path library) throws IOException {
        return parse(
                new String(Files.readAllBytes(library), StandardCharsets.ISO_8859_1),
                library.toString());
    }

    /** Finds the record in the text (the file's bytes as ISO-8859-1) of {@code source}. */
    static BuildRecord parse(String content, String source) {
        int start = content.indexOf(MARKER);
        int end = start < 0 ? -1 : content.indexOf('}', start);
        if (end < 0) {
            throw new IllegalArgumentException(
                    source + " is not a natten engine extension (it holds no " + MARKER + "...})");
        }
        String text = content.substring(start, end + 1);
        Map<String, String> fields = new HashMap<>();
        for (String field : text.substring(MARKER.length(), text.length() - 1).split(";")) {
            int eq = field.indexOf('=');
            if (eq > 0) {
                fields.put(field.substring(0, eq), field.substring(eq + 1));
            }
        }
        if (!fields.containsKey("torch")) {
            throw new IllegalArgumentException(source + ": build record without torch= " + text);
        }
        return new BuildRecord(text, fields);
    }

    /** Returns the libtorch version the library was compiled against, e.g. {@code 2.11.0}. */
    String torchVersion() {
        return fields.get("torch");
    }

    /** Returns whether the library was built with CUDA. */
    boolean cuda() {
        return "1".equals(fields.get("cuda"));
    }

    /** Returns the record as embedded. */
    String text() {
        return text;
    }

    /**
     * Returns whether two versions name the same libtorch release: equal {@code major.minor.patch},
     * ignoring a local suffix such as {@code +cu130}.
     */
    static boolean sameRelease(String a, String b) {
        return release(a).equals(release(b));
    }

    private static String release(String version) {
        String trimmed = version.trim();
        int cut = trimmed.length();
        for (char c : new char[] {'+', '-'}) {
            int at = trimmed.indexOf(c);
            if (at >= 0) {
                cut = Math.min(cut, at);
            }
        }
        return trimmed.substring(0, cut);
    }
}

package ai.natten.app.model;

import ai.djl.nn.Block;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The architectures the application can build, by name. The NAT/DiNAT variants of the model zoo are
 * registered here; tests and embedding applications may register their own.
 */
public final class ModelRegistry {

    private static final Map<String, Entry> ENTRIES = Collections.synchronizedMap(new TreeMap<>());

    private ModelRegistry() {}

    /**
     * Registers (or replaces) an architecture.
     *
     * @param name the name used by {@code --model} and saved in model.json
     * @param description one line for {@code --help}
     * @param factory builds the Block
     */
    public static void register(String name, String description, ModelFactory factory) {
        ENTRIES.put(name, new Entry(description, factory));
    }

    /**
     * Builds the Block of a spec.
     *
     * @throws IllegalArgumentException when the architecture is unknown (listing the known ones)
     */
    public static Block create(ModelSpec spec) {
        Entry entry = ENTRIES.get(spec.architecture());
        if (entry == null) {
            throw new IllegalArgumentException(
                    "unknown model '" + spec.architecture() + "'; known: " + names());
        }
        return entry.factory().create(spec);
    }

    /** Returns the known names with their descriptions. */
    public static Map<String, String> descriptions() {
        Map<String, String> result = new TreeMap<>();
        synchronized (ENTRIES) {
            ENTRIES.forEach((name, entry) -> result.put(name, entry.description()));
        }
        return result;
    }

    /** Returns the known names, comma separated. */
    public static String names() {
        return String.join(", ", descriptions().keySet());
    }

    private record Entry(String description, ModelFactory factory) {}
}

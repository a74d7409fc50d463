package ai.natten.djl;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says once why {@link NaBackend#AUTO} used the composite backend: each distinct reason is logged
 * the first time it occurs (at most {@value #MAX_REASONS} reasons per process), never per call.
 */
final class FallbackLog {

    static final int MAX_REASONS = 64;

    private static final Logger LOGGER = LoggerFactory.getLogger(NeighborhoodAttention.class);

    private final Consumer<String> sink;
    private final Set<String> said = new HashSet<>();

    FallbackLog(Consumer<String> sink) {
        this.sink = sink;
    }

    /** Returns a log writing to slf4j at INFO level. */
    static FallbackLog toLogger() {
        return new FallbackLog(LOGGER::info);
    }

    /** Logs the reason unless it was logged before. */
    void fallback(String reason) {
        synchronized (said) {
            if (said.size() >= MAX_REASONS || !said.add(reason)) {
                return;
            }
        }
        sink.accept("NaBackend.AUTO uses the composite backend: " + reason);
    }
}

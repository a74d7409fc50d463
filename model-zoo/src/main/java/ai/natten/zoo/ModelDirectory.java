package ai.natten.zoo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Where the zoo looks for weights, with no network access: a model directory holds one checkpoint
 * ({@code model.safetensors}, {@code pytorch_model.bin}, or any {@code .safetensors}, {@code .pth},
 * {@code .bin} or {@code .pt} file) or DJL parameters ({@code <name>-NNNN.params}).
 *
 * <p>Loading by artifact id reads {@code <repository>/<artifactId>/}, where the repository is the
 * system property {@value #REPOSITORY_PROPERTY}, else the environment variable {@value
 * #REPOSITORY_ENV}, else {@code ~/.natten/models}.
 */
public final class ModelDirectory {

    /** System property naming the local model repository. */
    public static final String REPOSITORY_PROPERTY = "ai.natten.zoo.repository";

    /** Environment variable naming the local model repository. */
    public static final String REPOSITORY_ENV = "NATTEN_ZOO_REPOSITORY";

    private static final List<String> PREFERRED = List.of("model.safetensors", "pytorch_model.bin");
    private static final List<String> CHECKPOINT_SUFFIXES =
            List.of(".safetensors", ".pth", ".bin", ".pt");

    private ModelDirectory() {}

    /** Returns the local model repository directory. */
    public static Path repository() {
        String configured = System.getProperty(REPOSITORY_PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(REPOSITORY_ENV);
        }
        if (configured == null || configured.isBlank()) {
            return Path.of(System.getProperty("user.home"), ".natten", "models");
        }
        return Path.of(configured);
    }

    /**
     * Returns the checkpoint of a model directory, if it has one.
     *
     * @param dir the directory
     * @return the checkpoint file
     * @throws IOException if the directory cannot be listed or holds several candidates
     */
    public static Optional<Path> checkpoint(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        for (String name : PREFERRED) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return Optional.of(dir.resolve(name));
            }
        }
        List<Path> candidates;
        try (Stream<Path> files = Files.list(dir)) {
            candidates =
                    files.filter(Files::isRegularFile)
                            .filter(
                                    f ->
                                            CHECKPOINT_SUFFIXES.stream()
                                                    .anyMatch(
                                                            s ->
                                                                    f.getFileName()
                                                                            .toString()
                                                                            .endsWith(s)))
                            .sorted()
                            .collect(Collectors.toList());
        }
        if (candidates.size() > 1) {
            throw new IOException(
                    dir
                            + " holds several checkpoints "
                            + candidates
                            + ": keep one, or name it model.safetensors");
        }
        return candidates.stream().findFirst();
    }

    /** Returns whether a directory holds DJL parameters ({@code *.params}). */
    public static boolean hasDjlParameters(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(f -> f.getFileName().toString().endsWith(".params"));
        }
    }
}

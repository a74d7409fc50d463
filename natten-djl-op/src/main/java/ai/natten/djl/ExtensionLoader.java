package ai.natten.djl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Finds, checks and loads the engine extension {@code libnatten_djl_torch.so}. The library is taken
 * from the system property {@value #PATH_PROPERTY} or the environment variable {@value #PATH_ENV}
 * (a file, or a folder holding {@value #LIBRARY_FILE}); it is loaded only when the libtorch release
 * it records equals the running PyTorch engine's, so a mismatched build is refused with a reason
 * instead of crashing the JVM. Every failure becomes an unavailable {@link Availability} saying
 * what to do.
 */
final class ExtensionLoader {

    /** System property naming the extension library or its folder. */
    static final String PATH_PROPERTY = "natten.native.path";

    /** Environment variable naming the extension library or its folder. */
    static final String PATH_ENV = "NATTEN_NATIVE_PATH";

    /** File name of the extension library. */
    static final String LIBRARY_FILE = "libnatten_djl_torch.so";

    private static final String HOW_TO =
            " (build one against the engine's libtorch as in README 'Fused backend')";

    /** How a checked library is brought into the process (System.load in production). */
    interface NativeAccess {

        /** Loads the library at an absolute path. */
        void load(String absolutePath);

        /** Returns the build record the loaded library reports through JNI. */
        String loadedRecord();
    }

    private final NativeAccess access;

    ExtensionLoader(NativeAccess access) {
        this.access = access;
    }

    /** Returns a loader that loads into this process. */
    static ExtensionLoader system() {
        return new ExtensionLoader(
                new NativeAccess() {
                    @Override
                    public void load(String absolutePath) {
                        System.load(absolutePath);
                    }

                    @Override
                    public String loadedRecord() {
                        return TorchNative.buildRecord();
                    }
                });
    }

    /** Returns the configured location: the system property, else the environment variable. */
    static String configuredPath() {
        String path = System.getProperty(PATH_PROPERTY);
        if (path == null || path.isBlank()) {
            path = System.getenv(PATH_ENV);
        }
        return path == null || path.isBlank() ? null : path.trim();
    }

    /**
     * Checks and loads the extension.
     *
     * @param configured the configured file or folder, or null
     * @param engineName the name of the engine the arrays come from
     * @param engineVersion that engine's libtorch version
     * @return available, or why not
     */
    Availability load(String configured, String engineName, String engineVersion) {
        if (!"PyTorch".equals(engineName)) {
            return Availability.unavailable(
                    "the fused backend needs DJL's PyTorch engine, the arrays come from "
                            + engineName);
        }
        if (configured == null) {
            return Availability.unavailable(
                    "no engine extension is configured: set -D"
                            + PATH_PROPERTY
                            + " or "
                            + PATH_ENV
                            + " to a "
                            + LIBRARY_FILE
                            + " built for libtorch "
                            + engineVersion
                            + HOW_TO);
        }
        Path library = Paths.get(configured);
        if (Files.isDirectory(library)) {
            library = library.resolve(LIBRARY_FILE);
        }
        library = library.toAbsolutePath();
        if (!Files.isRegularFile(library)) {
            return Availability.unavailable(
                    "the engine extension "
                            + library
                            + " (from "
                            + configured
                            + ") does not exist");
        }
        BuildRecord record;
        try {
            record = BuildRecord.read(library);
        } catch (IOException | IllegalArgumentException e) {
            return Availability.unavailable(
                    "cannot read the engine extension's build record: " + e.getMessage());
        }
        if (!BuildRecord.sameRelease(record.torchVersion(), engineVersion)) {
            return Availability.unavailable(
                    "the engine extension "
                            + library
                            + " was built for libtorch "
                            + record.torchVersion()
                            + " but the PyTorch engine runs libtorch "
                            + engineVersion
                            + "; it was not loaded"
                            + HOW_TO);
        }
        if (!record.cuda()) {
            return Availability.unavailable(
                    "the engine extension " + library + " was built without CUDA" + HOW_TO);
        }
        try {
            access.load(library.toString());
            String loaded = access.loadedRecord();
            if (!record.text().equals(loaded)) {
                return Availability.unavailable(
                        "the engine extension "
                                + library
                                + " reports "
                                + loaded
                                + " after loading, its file says "
                                + record.text());
            }
        } catch (UnsatisfiedLinkError | SecurityException e) {
            return Availability.unavailable(
                    "cannot load the engine extension " + library + ": " + e.getMessage());
        }
        return Availability.available();
    }
}

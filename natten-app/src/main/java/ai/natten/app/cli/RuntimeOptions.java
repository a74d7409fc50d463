package ai.natten.app.cli;

import ai.djl.Device;
import picocli.CommandLine.Option;

/** Where and with how many threads a command runs. */
final class RuntimeOptions {

    @Option(
            names = "--devices",
            defaultValue = "auto",
            description =
                    "auto (every GPU, else CPU), cpu, gpu/all, or a list such as gpu0,gpu1;"
                            + " several devices train data parallel (${DEFAULT-VALUE})")
    String devices;

    @Option(
            names = "--workers",
            description = "image decoding threads (default: available processors)")
    Integer workers;

    /** Returns the parsed devices. */
    Device[] devices() {
        return Devices.parse(devices);
    }

    /** Returns the decoding thread count, at least 1. */
    int workers() {
        if (workers != null && workers < 1) {
            throw new IllegalArgumentException("--workers must be at least 1, got " + workers);
        }
        return workers != null ? workers : Runtime.getRuntime().availableProcessors();
    }
}

package ai.natten.app.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code natten} command line: {@code train}, {@code evaluate}, {@code predict}, {@code bench}
 * and {@code models}. Errors the user can fix (bad arguments, missing or corrupt files) print one
 * {@code natten: ...} line and exit with 2 (arguments) or 1 (files), never a stack trace.
 */
@Command(
        name = "natten",
        mixinStandardHelpOptions = true,
        version = "natten 0.1.0",
        description = "Neighborhood attention image classifiers (NAT/DiNAT) on Deep Java Library.",
        subcommands = {
            TrainCommand.class,
            EvaluateCommand.class,
            PredictCommand.class,
            BenchCommand.class,
            ModelsCommand.class
        })
public final class NattenCommand {

    /** Exit status of a user error in the arguments. */
    public static final int USAGE_ERROR = 2;

    /** Exit status of a missing, unreadable or corrupt file. */
    public static final int FILE_ERROR = 1;

    private PrintStream out = System.out;

    private NattenCommand() {}

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        System.exit(execute(args, System.out, System.err));
    }

    /**
     * Runs the command line in this JVM.
     *
     * @param args the arguments
     * @param out where results and progress go
     * @param err where errors go
     * @return the exit status: 0 success, 1 file error, 2 usage error
     */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        defaultProperty("ai.djl.offline", "true");
        defaultProperty("java.awt.headless", "true");
        defaultProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // DJL's GPU probe warns on every CPU-only machine; --devices reports a missing GPU itself
        defaultProperty("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
        NattenModels.registerAll();
        NattenCommand command = new NattenCommand();
        command.out = out;
        CommandLine line = new CommandLine(command);
        line.setOut(new PrintWriter(out, true));
        line.setErr(new PrintWriter(err, true));
        line.setExecutionExceptionHandler(
                (exception, commandLine, parseResult) -> {
                    Throwable cause = exception;
                    if (cause instanceof UncheckedIOException unchecked) {
                        cause = unchecked.getCause();
                    }
                    if (cause instanceof IllegalArgumentException) {
                        err.println("natten: " + cause.getMessage());
                        return USAGE_ERROR;
                    }
                    if (cause instanceof IOException) {
                        err.println("natten: " + describe((IOException) cause));
                        return FILE_ERROR;
                    }
                    throw exception;
                });
        return line.execute(args);
    }

    /** Returns where commands print. */
    PrintStream out() {
        return out;
    }

    private static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException missing) {
            String reason = missing.getReason();
            return (reason != null ? reason : "file not found") + ": " + missing.getFile();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static void defaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}

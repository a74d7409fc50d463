package ai.natten.app.cli;

import ai.natten.app.model.ModelRegistry;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code natten models}: lists the architectures {@code --model} accepts. */
@Command(
        name = "models",
        mixinStandardHelpOptions = true,
        description = "List the model architectures --model accepts.")
final class ModelsCommand implements Callable<Integer> {

    @ParentCommand NattenCommand parent;

    @Override
    public Integer call() {
        ModelRegistry.descriptions()
                .forEach((name, text) -> parent.out().printf("%-22s %s%n", name, text));
        return 0;
    }
}

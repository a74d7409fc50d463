package ai.natten.zoo;

import ai.djl.Model;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;
import ai.natten.zoo.checkpoint.NatCheckpoints;
import ai.natten.zoo.nat.NatConfig;
import ai.natten.zoo.nat.NatModel;
import ai.natten.zoo.nat.NatVariants;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Creates the {@link NatModel} of one variant of a family and gives it its weights.
 *
 * <p>Arguments (from {@code Criteria.optArgument} or a model directory's {@code
 * serving.properties}):
 *
 * <ul>
 *   <li>{@code variant} (required): a name of {@link NatVariants} in this family;
 *   <li>{@code numClasses}, {@code imageSize}, {@code inChannels}: override the variant's;
 *   <li>{@code weights}: a checkpoint file; otherwise the model directory's checkpoint;
 *   <li>{@code randomInit=true}: random parameters when no weights are found (otherwise an error).
 * </ul>
 *
 * <p>Checkpoints ({@code .safetensors}, {@code .pth}, {@code .bin}) are imported here; DJL's own
 * {@code .params} are left to {@code Model.load}. With a checkpoint, DJL's loader must not look for
 * {@code .params}: set the option {@code hasParameter=false} (in {@code serving.properties}: {@code
 * option.hasParameter=false}).
 */
public abstract class NatFamilyBlockFactory implements BlockFactory {

    private static final long serialVersionUID = 1L;

    private final String family;

    /**
     * Creates the factory of the variants whose names start with {@code family + "_"}.
     *
     * @param family {@code nat} or {@code dinat}
     */
    protected NatFamilyBlockFactory(String family) {
        this.family = family;
    }

    /** Returns the variant names of this family. */
    public Set<String> variants() {
        return NatVariants.names().stream()
                .filter(n -> n.startsWith(family + "_"))
                .collect(Collectors.toCollection(java.util.LinkedHashSet::new));
    }

    /**
     * Returns the configuration the arguments ask for.
     *
     * @param arguments the arguments described above
     * @return the architecture
     */
    public NatConfig config(Map<String, ?> arguments) {
        Object variant = arguments.get("variant");
        if (variant == null || !variants().contains(variant.toString())) {
            throw new IllegalArgumentException(
                    "argument 'variant' must be one of " + variants() + ", got " + variant);
        }
        NatConfig.Builder builder = NatVariants.byName(variant.toString());
        integer(arguments, "numClasses").ifPresent(builder::optNumClasses);
        integer(arguments, "imageSize").ifPresent(builder::optImageSize);
        integer(arguments, "inChannels").ifPresent(builder::optInChannels);
        return builder.build();
    }

    /** {@inheritDoc} */
    @Override
    public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments)
            throws IOException {
        NatConfig config = config(arguments);
        NatModel block = new NatModel(config);
        Object weights = arguments.get("weights");
        Optional<Path> checkpoint =
                weights != null
                        ? Optional.of(Path.of(weights.toString()))
                        : ModelDirectory.checkpoint(modelPath);
        if (checkpoint.isPresent()) {
            NatCheckpoints.load(block, checkpoint.get(), model.getNDManager());
        } else if (Boolean.parseBoolean(String.valueOf(arguments.get("randomInit")))) {
            block.initialize(
                    model.getNDManager(),
                    model.getDataType(),
                    new Shape(1, config.inChannels(), config.imageSize(), config.imageSize()));
        } else if (!ModelDirectory.hasDjlParameters(modelPath)) {
            throw new IOException(
                    "no weights for "
                            + config.name()
                            + " in "
                            + modelPath
                            + ": put a checkpoint (model.safetensors, pytorch_model.bin or a .pth"
                            + " of the official repository) there, pass the argument"
                            + " weights=<file>, or randomInit=true for random parameters."
                            + " Nothing is downloaded.");
        }
        return block;
    }

    private static Optional<Integer> integer(Map<String, ?> arguments, String name) {
        Object value = arguments.get(name);
        if (value == null) {
            return Optional.empty();
        }
        try {
            return Optional.of((int) Double.parseDouble(value.toString()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "argument '" + name + "' must be an integer, got " + value, e);
        }
    }
}

package ai.natten.app.cli;

import ai.natten.app.model.ModelRegistry;
import ai.natten.app.model.ModelSpec;
import ai.natten.zoo.nat.NatConfig;
import ai.natten.zoo.nat.NatModel;
import ai.natten.zoo.nat.NatVariants;
import java.util.function.Supplier;

/**
 * Registers the model zoo's NAT/DiNAT variants (by their zoo names, e.g. {@code nat_mini}) and the
 * application's small {@code nat_fashion} with {@link ModelRegistry}.
 */
final class NattenModels {

    private NattenModels() {}

    /** Registers every architecture; registering again replaces them. */
    static void registerAll() {
        for (String name : NatVariants.names()) {
            register(name, "published variant " + name, () -> NatVariants.byName(name));
        }
        register(
                ModelDefaults.FASHION,
                "small NAT for 28x28 images: 7x7 then 4x4 tokens, k=3, 0.24M parameters",
                NattenModels::fashion);
    }

    /**
     * The embedded default's model: two levels (48 and 96 channels, two layers each), kernel 3, the
     * second layer of the first level dilated by 2 as in DiNAT.
     */
    static NatConfig.Builder fashion() {
        return NatConfig.builder()
                .optName(ModelDefaults.FASHION)
                .setEmbedDim(48)
                .setDepths(2, 2)
                .setHeads(2, 4)
                .optKernelSize(3)
                .optDilations(new int[] {1, 2}, new int[] {1, 1})
                .optMlpRatio(2);
    }

    private static void register(
            String name, String description, Supplier<NatConfig.Builder> variant) {
        ModelRegistry.register(
                name, description, spec -> new NatModel(configure(variant.get(), spec)));
    }

    private static NatConfig configure(NatConfig.Builder builder, ModelSpec spec) {
        return builder.optInChannels(3)
                .optImageSize(spec.imageSize())
                .optNumClasses(spec.classes())
                .optDropPathRate(spec.dropPath())
                .optBackend(spec.backend())
                .build();
    }
}

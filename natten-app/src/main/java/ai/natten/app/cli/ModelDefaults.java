package ai.natten.app.cli;

/** The architectures a command uses when {@code --model} is not given. */
final class ModelDefaults {

    /** For Fashion-MNIST (28x28). */
    static final String FASHION = "nat_fashion";

    /** For ImageNet-style folders (224x224). */
    static final String IMAGENET = "nat_mini";

    private ModelDefaults() {}
}

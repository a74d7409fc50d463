package ai.natten.zoo;

/**
 * The {@link NatFamilyBlockFactory} of DiNAT: {@code dinat_mini} ... {@code dinat_large_384},
 * {@code dinat_isotropic_small}, {@code dinat_isotropic_base}.
 */
public final class DinatBlockFactory extends NatFamilyBlockFactory {

    private static final long serialVersionUID = 1L;

    /** Creates the factory. */
    public DinatBlockFactory() {
        super("dinat");
    }
}

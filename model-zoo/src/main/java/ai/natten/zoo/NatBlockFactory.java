package ai.natten.zoo;

/** The {@link NatFamilyBlockFactory} of NAT: {@code nat_mini} ... {@code nat_isotropic_base}. */
public final class NatBlockFactory extends NatFamilyBlockFactory {

    private static final long serialVersionUID = 1L;

    /** Creates the factory. */
    public NatBlockFactory() {
        super("nat");
    }
}

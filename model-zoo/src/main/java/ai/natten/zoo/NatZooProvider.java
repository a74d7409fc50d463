package ai.natten.zoo;

import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooProvider;

/** Registers {@link NatModelZoo} with DJL (through {@code META-INF/services}). */
public final class NatZooProvider implements ZooProvider {

    @Override
    public ModelZoo getModelZoo() {
        return new NatModelZoo();
    }
}

package ai.natten.zoo;

import ai.djl.repository.zoo.ModelZoo;
import java.util.Set;

/**
 * The NAT/DiNAT model zoo, group id {@value #GROUP_ID}: one loader per published variant (artifact
 * ids {@code nat_mini}, ..., {@code dinat_isotropic_base}), all loading offline.
 *
 * <pre>{@code
 * Criteria<Image, Classifications> criteria = Criteria.builder()
 *         .setTypes(Image.class, Classifications.class)
 *         .optGroupId(NatModelZoo.GROUP_ID)
 *         .optArtifactId("dinat_tiny")
 *         .build();
 * try (ZooModel<Image, Classifications> model = criteria.loadModel();
 *         Predictor<Image, Classifications> predictor = model.newPredictor()) {
 *     Classifications result = predictor.predict(image);
 * }
 * }</pre>
 */
public final class NatModelZoo extends ModelZoo {

    /** The zoo's group id. */
    public static final String GROUP_ID = "ai.natten.zoo";

    /** Creates the zoo with a loader per variant. */
    @SuppressWarnings("this-escape")
    public NatModelZoo() {
        for (NatFamilyBlockFactory factory :
                new NatFamilyBlockFactory[] {new NatBlockFactory(), new DinatBlockFactory()}) {
            for (String variant : factory.variants()) {
                addModel(new NatModelLoader(variant, factory));
            }
        }
    }

    @Override
    public String getGroupId() {
        return GROUP_ID;
    }

    @Override
    public Set<String> getSupportedEngines() {
        return Set.of("PyTorch");
    }
}

package ai.natten.zoo.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.Pair;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ParameterCountTest {

    /** Official counts, in millions, at the precision their authors publish them. */
    @ParameterizedTest
    @CsvSource({
        "nat_mini, 20.0, 0.05",
        "nat_tiny, 27.9, 0.05",
        "nat_small, 50.7, 0.05",
        "nat_base, 89.8, 0.05",
        "dinat_mini, 20.0, 0.05",
        "dinat_tiny, 27.9, 0.05",
        "dinat_small, 50.7, 0.05",
        "dinat_base, 89.8, 0.05",
        "dinat_large, 200.9, 0.05",
        "nat_isotropic_small, 22, 0.5",
        "nat_isotropic_base, 86, 0.5",
        "dinat_isotropic_small, 22, 0.5",
        "dinat_isotropic_base, 86, 0.5",
    })
    void parameterCountsEqualThePublishedOnes(String name, double millions, double tolerance) {
        NatConfig config = NatVariants.byName(name).build();
        long count = count(config);
        System.out.printf("%s %.3fM%n", name, count / 1e6);
        assertEquals(millions, count / 1e6, tolerance, name + " has " + count + " parameters");
    }

    static long count(NatConfig config) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NatModel model = new NatModel(config);
            // Zeros allocate lazily; the count needs shapes only.
            model.setInitializer(Initializer.ZEROS, p -> true);
            model.initialize(
                    manager,
                    DataType.FLOAT32,
                    new Shape(1, config.inChannels(), config.imageSize(), config.imageSize()));
            long count = 0;
            for (Pair<String, Parameter> p : model.getParameters()) {
                count += p.getValue().getArray().size();
            }
            return count;
        }
    }
}

package ai.natten.zoo.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NatFlopsTest {

    /** The authors' published FLOPs at 224 (one multiply-add counted as one FLOP). */
    @ParameterizedTest
    @CsvSource({
        "nat_mini, 2.7",
        "nat_tiny, 4.3",
        "nat_small, 7.8",
        "nat_base, 13.7",
        "dinat_mini, 2.7",
        "dinat_base, 13.7",
        "nat_isotropic_small, 4.3",
        "nat_isotropic_base, 16.9",
    })
    void flopsAt224EqualThePublishedOnes(String name, double gflops) {
        assertEquals(gflops, NatFlops.macs(NatVariants.byName(name).build(), 224) / 1e9, 0.05);
    }
}

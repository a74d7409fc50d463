package ai.natten.zoo.nat;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The published NAT and DiNAT variants, as configured by their authors (SHI-Labs'
 * Neighborhood-Attention-Transformer repository, {@code classification/nat.py}, {@code dinat.py}
 * and {@code isotropic.py}). Each returns a builder so that the class count, input size, channels,
 * dropouts or backend can be changed before {@code build()}.
 */
public final class NatVariants {

    private static final int[] DEPTHS_MINI = {3, 4, 6, 5};
    private static final int[] DEPTHS = {3, 4, 18, 5};

    private static final Map<String, Supplier<NatConfig.Builder>> ALL = new LinkedHashMap<>();

    static {
        ALL.put("nat_mini", NatVariants::natMini);
        ALL.put("nat_tiny", NatVariants::natTiny);
        ALL.put("nat_small", NatVariants::natSmall);
        ALL.put("nat_base", NatVariants::natBase);
        ALL.put("dinat_mini", NatVariants::dinatMini);
        ALL.put("dinat_tiny", NatVariants::dinatTiny);
        ALL.put("dinat_small", NatVariants::dinatSmall);
        ALL.put("dinat_base", NatVariants::dinatBase);
        ALL.put("dinat_large", NatVariants::dinatLarge);
        ALL.put("dinat_large_384", NatVariants::dinatLarge384);
        ALL.put("nat_isotropic_small", NatVariants::natIsotropicSmall);
        ALL.put("nat_isotropic_base", NatVariants::natIsotropicBase);
        ALL.put("dinat_isotropic_small", NatVariants::dinatIsotropicSmall);
        ALL.put("dinat_isotropic_base", NatVariants::dinatIsotropicBase);
    }

    private NatVariants() {}

    /** Returns the names of every variant. */
    public static Set<String> names() {
        return ALL.keySet();
    }

    /**
     * Returns the builder of a variant by name, such as {@code dinat_tiny}.
     *
     * @throws IllegalArgumentException if no variant has that name
     */
    public static NatConfig.Builder byName(String name) {
        Supplier<NatConfig.Builder> variant = ALL.get(name);
        if (variant == null) {
            throw new IllegalArgumentException(
                    "unknown NAT variant '" + name + "'; known: " + ALL.keySet());
        }
        return variant.get();
    }

    /** NAT-Mini: 64 channels, depths 3-4-6-5, MLP ratio 3 (20.0M parameters). */
    public static NatConfig.Builder natMini() {
        return hierarchical("nat_mini", 64, DEPTHS_MINI, 2, 3f, 0.2f, 0f);
    }

    /** NAT-Tiny: 64 channels, depths 3-4-18-5, MLP ratio 3 (27.9M). */
    public static NatConfig.Builder natTiny() {
        return hierarchical("nat_tiny", 64, DEPTHS, 2, 3f, 0.2f, 0f);
    }

    /** NAT-Small: 96 channels, MLP ratio 2, layer scale 1e-5 (50.7M). */
    public static NatConfig.Builder natSmall() {
        return hierarchical("nat_small", 96, DEPTHS, 3, 2f, 0.3f, 1e-5f);
    }

    /** NAT-Base: 128 channels, MLP ratio 2, layer scale 1e-5 (89.8M). */
    public static NatConfig.Builder natBase() {
        return hierarchical("nat_base", 128, DEPTHS, 4, 2f, 0.5f, 1e-5f);
    }

    /** DiNAT-Mini: NAT-Mini with dilations 8, 4, 2, 1 on every other layer. */
    public static NatConfig.Builder dinatMini() {
        return natMini().optName("dinat_mini").optDilations(dinatDilations(DEPTHS_MINI, 8));
    }

    /** DiNAT-Tiny: NAT-Tiny's architecture with DiNAT's dilations. */
    public static NatConfig.Builder dinatTiny() {
        return natTiny().optName("dinat_tiny").optDilations(dinatDilations(DEPTHS, 8));
    }

    /** DiNAT-Small: as NAT-Small but, as published, without layer scale. */
    public static NatConfig.Builder dinatSmall() {
        return natSmall()
                .optName("dinat_small")
                .optLayerScale(0f)
                .optDilations(dinatDilations(DEPTHS, 8));
    }

    /** DiNAT-Base: NAT-Base's architecture (with layer scale) and DiNAT's dilations. */
    public static NatConfig.Builder dinatBase() {
        return natBase().optName("dinat_base").optDilations(dinatDilations(DEPTHS, 8));
    }

    /**
     * DiNAT-Large (ImageNet-22K pre-trained, 224): 192 channels, heads 6-12-24-48, MLP ratio 2, no
     * layer scale. Use {@code optNumClasses(21841)} for the 22K head.
     */
    public static NatConfig.Builder dinatLarge() {
        return hierarchical("dinat_large", 192, DEPTHS, 6, 2f, 0.35f, 0f)
                .optDilations(dinatDilations(DEPTHS, 8));
    }

    /** DiNAT-Large at 384: dilations 13, 6, 3, 1 for the larger feature maps. */
    public static NatConfig.Builder dinatLarge384() {
        int[][] dilations = {
            alternating(3, 13), alternating(4, 6), alternating(18, 3), alternating(5, 1)
        };
        return dinatLarge().optName("dinat_large_384").optImageSize(384).optDilations(dilations);
    }

    /** NAT-iso-Small: 16x16 patches, 12 layers of 384 channels, 12 heads (22M). */
    public static NatConfig.Builder natIsotropicSmall() {
        return isotropic("nat_isotropic_small", 384, 12, 1, 0.1f);
    }

    /** NAT-iso-Base: 16x16 patches, 12 layers of 768 channels, 24 heads (86M). */
    public static NatConfig.Builder natIsotropicBase() {
        return isotropic("nat_isotropic_base", 768, 24, 1, 0.4f);
    }

    /** DiNAT-iso-Small: NAT-iso-Small with dilation 2 on every other layer. */
    public static NatConfig.Builder dinatIsotropicSmall() {
        return isotropic("dinat_isotropic_small", 384, 12, 2, 0.1f);
    }

    /** DiNAT-iso-Base: NAT-iso-Base with dilation 2 on every other layer. */
    public static NatConfig.Builder dinatIsotropicBase() {
        return isotropic("dinat_isotropic_base", 768, 24, 2, 0.4f);
    }

    private static NatConfig.Builder hierarchical(
            String name,
            int embedDim,
            int[] depths,
            int firstHeads,
            float mlpRatio,
            float dropPath,
            float layerScale) {
        return NatConfig.builder()
                .optName(name)
                .setEmbedDim(embedDim)
                .setDepths(depths)
                .setHeads(firstHeads, 2 * firstHeads, 4 * firstHeads, 8 * firstHeads)
                .optMlpRatio(mlpRatio)
                .optDropPathRate(dropPath)
                .optLayerScale(layerScale)
                .optKernelSize(7);
    }

    private static NatConfig.Builder isotropic(
            String name, int embedDim, int heads, int dilation, float dropPath) {
        return NatConfig.builder()
                .optName(name)
                .optIsotropic(16)
                .setEmbedDim(embedDim)
                .setDepths(12)
                .setHeads(heads)
                .optMlpRatio(4f)
                .optDropPathRate(dropPath)
                .optKernelSize(7)
                .optDilations(alternating(12, dilation));
    }

    /** DiNAT's schedule: level i alternates 1 and {@code firstDilation / 2^i} (at least 1). */
    private static int[][] dinatDilations(int[] depths, int firstDilation) {
        int[][] dilations = new int[depths.length][];
        for (int level = 0; level < depths.length; level++) {
            dilations[level] = alternating(depths[level], Math.max(1, firstDilation >> level));
        }
        return dilations;
    }

    /** {@code [1, d, 1, d, ...]} of length n. */
    private static int[] alternating(int n, int dilation) {
        int[] values = new int[n];
        Arrays.fill(values, 1);
        for (int i = 1; i < n; i += 2) {
            values[i] = dilation;
        }
        return values;
    }
}

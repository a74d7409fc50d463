package ai.natten.zoo.nat;

/**
 * Counts the floating-point work of a NAT/DiNAT forward pass analytically, in multiply-accumulates
 * (the convention of the published FLOPs figures, which count one multiply-add as one FLOP):
 * convolutions, linear layers and the two neighborhood-attention products ({@code QK^T} and {@code
 * AV}, {@code k^2} neighbours each). Normalization, activations, softmax and additions are not
 * counted.
 */
public final class NatFlops {

    private NatFlops() {}

    /**
     * Returns the multiply-accumulates of one image at the given square resolution.
     *
     * @param config the architecture
     * @param imageSize the input height and width
     * @return the count for batch size 1
     */
    public static long macs(NatConfig config, int imageSize) {
        long macs;
        long side;
        int in = config.inChannels();
        int dim = config.embedDim();
        if (config.isotropic()) {
            int p = config.patchSize();
            side = (imageSize + p - 1) / p;
            macs = side * side * dim * in * p * p;
        } else {
            long half = ChannelsLast.convOut(imageSize, 3, 2, 1);
            side = ChannelsLast.convOut(half, 3, 2, 1);
            macs = half * half * (dim / 2) * in * 9L + side * side * dim * (dim / 2) * 9L;
        }
        int k = config.kernelSize();
        for (int level = 0; level < config.levels(); level++) {
            long c = config.dim(level);
            long tokens = side * side;
            long hidden = (long) (c * config.mlpRatio());
            long perLayer = tokens * (3 * c * c + 2 * c * k * k + c * c + 2 * c * hidden);
            macs += perLayer * config.depth(level);
            if (!config.isotropic() && level < config.levels() - 1) {
                side = ChannelsLast.convOut(side, 3, 2, 1);
                macs += side * side * 2 * c * c * 9;
            }
        }
        return macs + (long) config.numFeatures() * config.numClasses();
    }

    /**
     * Prints the GFLOPs of every published variant at its input size (224, or 384 for the 384
     * variants).
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        System.out.printf("%-24s %6s %10s%n", "variant", "input", "GFLOPs");
        for (String name : NatVariants.names()) {
            NatConfig config = NatVariants.byName(name).build();
            System.out.printf(
                    "%-24s %6d %10.2f%n",
                    name, config.imageSize(), macs(config, config.imageSize()) / 1e9);
        }
    }
}

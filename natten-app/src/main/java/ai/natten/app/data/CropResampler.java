package ai.natten.app.data;

/**
 * Bilinear resampling of a rectangle of an image to a square, with optional horizontal flip and
 * normalization, written channels-first: the output is {@code [3, size, size]} floats. Sampling
 * follows PyTorch's {@code interpolate(mode="bilinear", align_corners=False)} on the crop.
 */
final class CropResampler {

    private CropResampler() {}

    /**
     * Resamples a crop.
     *
     * @param image the source
     * @param left the crop's left edge in source pixels
     * @param top the crop's top edge in source pixels
     * @param width the crop width in source pixels
     * @param height the crop height in source pixels
     * @param size the output side
     * @param flip mirror the output left-right
     * @param normalization per-channel normalization of the [0, 1] values
     * @param out receives {@code 3 * size * size} floats
     * @param offset where the first float goes
     */
    static void resample(
            RawImage image,
            double left,
            double top,
            double width,
            double height,
            int size,
            boolean flip,
            Normalization normalization,
            float[] out,
            int offset) {
        int plane = size * size;
        float[] mean = normalization.mean();
        float[] std = normalization.std();
        double scaleX = width / size;
        double scaleY = height / size;
        for (int oy = 0; oy < size; oy++) {
            double sy = clamp(top + (oy + 0.5) * scaleY - 0.5, image.height() - 1);
            int y0 = (int) sy;
            int y1 = Math.min(y0 + 1, image.height() - 1);
            double fy = sy - y0;
            for (int ox = 0; ox < size; ox++) {
                int column = flip ? size - 1 - ox : ox;
                double sx = clamp(left + (column + 0.5) * scaleX - 0.5, image.width() - 1);
                int x0 = (int) sx;
                int x1 = Math.min(x0 + 1, image.width() - 1);
                double fx = sx - x0;
                for (int c = 0; c < 3; c++) {
                    double topRow = lerp(image.value(x0, y0, c), image.value(x1, y0, c), fx);
                    double bottomRow = lerp(image.value(x0, y1, c), image.value(x1, y1, c), fx);
                    double value = lerp(topRow, bottomRow, fy);
                    out[offset + c * plane + oy * size + ox] =
                            (float) ((value / 255.0 - mean[c]) / std[c]);
                }
            }
        }
    }

    private static double lerp(double a, double b, double t) {
        return a + (b - a) * t;
    }

    private static double clamp(double value, int max) {
        return Math.max(0, Math.min(max, value));
    }
}

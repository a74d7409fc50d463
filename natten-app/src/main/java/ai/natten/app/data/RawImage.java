package ai.natten.app.data;

/**
 * A decoded 8-bit image, channels-last: pixel {@code (y, x, c)} is {@code pixels[(y * width + x) *
 * channels + c]}. One channel is grey, three are RGB.
 */
public final class RawImage {

    private final int width;
    private final int height;
    private final int channels;
    private final byte[] pixels;

    /**
     * Wraps pixels without copying them.
     *
     * @param width columns, at least 1
     * @param height rows, at least 1
     * @param channels 1 (grey) or 3 (RGB)
     * @param pixels {@code [height, width, channels]} unsigned bytes
     */
    public RawImage(int width, int height, int channels, byte[] pixels) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException(
                    "image size must be positive, got " + width + "x" + height);
        }
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (pixels.length != width * height * channels) {
            throw new IllegalArgumentException(
                    "pixels holds "
                            + pixels.length
                            + " bytes, expected width*height*channels = "
                            + width * height * channels);
        }
        this.width = width;
        this.height = height;
        this.channels = channels;
        this.pixels = pixels;
    }

    /** Returns the number of columns. */
    public int width() {
        return width;
    }

    /** Returns the number of rows. */
    public int height() {
        return height;
    }

    /** Returns 1 for grey, 3 for RGB. */
    public int channels() {
        return channels;
    }

    /**
     * Returns the value in [0, 255] of a pixel channel; a grey image answers every RGB channel with
     * its one value.
     */
    public int value(int x, int y, int rgbChannel) {
        int c = channels == 1 ? 0 : rgbChannel;
        return pixels[(y * width + x) * channels + c] & 0xFF;
    }
}

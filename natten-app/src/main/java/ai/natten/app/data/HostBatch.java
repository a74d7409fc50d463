package ai.natten.app.data;

/**
 * One batch in host memory, ready to copy to a device.
 *
 * @param pixels {@code [size, 3, imageSize, imageSize]} normalized floats
 * @param labels {@code [size]} class indices
 * @param imageSize the side of every image
 */
public record HostBatch(float[] pixels, int[] labels, int imageSize) {

    /** Returns the number of images. */
    public int size() {
        return labels.length;
    }
}

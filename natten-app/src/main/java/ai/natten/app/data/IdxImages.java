package ai.natten.app.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Grey images and labels held in memory from a pair of gzipped idx files (the MNIST family's
 * format: {@code images [N, rows, cols]} of unsigned bytes, {@code labels [N]}).
 */
public final class IdxImages implements LabeledImages {

    private static final int UNSIGNED_BYTE_RANK_3 = 0x0803;
    private static final int UNSIGNED_BYTE_RANK_1 = 0x0801;

    private final String name;
    private final List<String> classes;
    private final int rows;
    private final int cols;
    private final byte[] pixels;
    private final byte[] labels;

    private IdxImages(
            String name, List<String> classes, int rows, int cols, byte[] pixels, byte[] labels) {
        this.name = name;
        this.classes = List.copyOf(classes);
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
        this.labels = labels;
    }

    /**
     * Reads an images file and its labels file, both gzipped idx.
     *
     * @param name what to call the dataset in messages
     * @param classes class names, as many as the labels use
     * @param images opens the images file
     * @param labelFile opens the labels file
     * @throws IOException naming the file when either is missing, truncated or not idx
     */
    public static IdxImages read(
            String name, List<String> classes, IdxSource images, IdxSource labelFile)
            throws IOException {
        int[] imageDims = new int[3];
        byte[] pixels = readPayload(images, UNSIGNED_BYTE_RANK_3, imageDims);
        int[] labelDims = new int[1];
        byte[] labels = readPayload(labelFile, UNSIGNED_BYTE_RANK_1, labelDims);
        if (imageDims[0] != labelDims[0]) {
            throw new IOException(
                    images.name()
                            + " holds "
                            + imageDims[0]
                            + " images but "
                            + labelFile.name()
                            + " holds "
                            + labelDims[0]
                            + " labels");
        }
        for (int i = 0; i < labels.length; i++) {
            int label = labels[i] & 0xFF;
            if (label >= classes.size()) {
                throw new IOException(
                        labelFile.name()
                                + ": label "
                                + label
                                + " at index "
                                + i
                                + " is not below the class count "
                                + classes.size());
            }
        }
        return new IdxImages(name, classes, imageDims[1], imageDims[2], pixels, labels);
    }

    private static byte[] readPayload(IdxSource source, int expectedMagic, int[] dims)
            throws IOException {
        try (InputStream raw = source.open();
                DataInputStream in = new DataInputStream(new GZIPInputStream(raw))) {
            int magic = in.readInt();
            if (magic != expectedMagic) {
                throw new IOException(
                        source.name()
                                + ": not an idx file of rank "
                                + dims.length
                                + " unsigned bytes (magic 0x"
                                + Integer.toHexString(magic)
                                + ", expected 0x"
                                + Integer.toHexString(expectedMagic)
                                + ")");
            }
            long total = 1;
            for (int i = 0; i < dims.length; i++) {
                dims[i] = in.readInt();
                if (dims[i] <= 0) {
                    throw new IOException(source.name() + ": dimension " + i + " is " + dims[i]);
                }
                total *= dims[i];
            }
            if (total > Integer.MAX_VALUE - 8) {
                throw new IOException(source.name() + ": too large for memory (" + total + ")");
            }
            byte[] payload = new byte[(int) total];
            in.readFully(payload);
            return payload;
        } catch (EOFException e) {
            throw new IOException(source.name() + ": truncated idx file", e);
        } catch (java.util.zip.ZipException e) {
            throw new IOException(source.name() + ": not a gzip file (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public int label(int index) {
        return labels[index] & 0xFF;
    }

    @Override
    public RawImage image(int index) {
        int length = rows * cols;
        byte[] copy = new byte[length];
        System.arraycopy(pixels, index * length, copy, 0, length);
        return new RawImage(cols, rows, 1, copy);
    }

    @Override
    public String describe() {
        return name + " (" + size() + " images " + cols + "x" + rows + ")";
    }

    /** Opens one idx file, from a path or a class-path resource. */
    public interface IdxSource {
        /** Returns the name used in messages (a path or a resource name). */
        String name();

        /** Opens the gzipped bytes. */
        InputStream open() throws IOException;
    }
}

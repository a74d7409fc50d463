package ai.natten.app.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Images laid out as ImageNet is: one sub-folder per class (sorted by name gives the label order),
 * image files (png, jpg, jpeg, bmp, gif) inside. Images are decoded on demand and returned as RGB.
 */
public final class ImageFolder implements LabeledImages {

    private static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif");

    private final Path root;
    private final List<String> classes;
    private final List<Path> files;
    private final int[] labels;

    private ImageFolder(Path root, List<String> classes, List<Path> files, int[] labels) {
        this.root = root;
        this.classes = List.copyOf(classes);
        this.files = List.copyOf(files);
        this.labels = labels;
    }

    /**
     * Scans a folder of class sub-folders.
     *
     * @throws IOException when the folder is missing, has no class sub-folder, or has no image
     */
    public static ImageFolder scan(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new NoSuchFileException(root.toString(), null, "image folder not found");
        }
        List<Path> classDirs;
        try (Stream<Path> children = Files.list(root)) {
            classDirs = children.filter(Files::isDirectory).sorted().toList();
        }
        if (classDirs.isEmpty()) {
            throw new IOException(
                    root + ": no class sub-folders (expected " + root + "/<class>/<image files>)");
        }
        List<String> classes = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (Path dir : classDirs) {
            int label = classes.size();
            classes.add(dir.getFileName().toString());
            try (Stream<Path> entries = Files.list(dir)) {
                for (Path file : entries.filter(ImageFolder::isImage).sorted().toList()) {
                    files.add(file);
                    labels.add(label);
                }
            }
        }
        if (files.isEmpty()) {
            throw new IOException(root + ": no image files (" + EXTENSIONS + ") in " + classes);
        }
        return new ImageFolder(
                root, classes, files, labels.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * Scans {@code root/train} and {@code root/val}.
     *
     * @throws IOException when either is missing or empty, or their classes differ
     */
    public static DatasetSplits trainAndVal(Path root) throws IOException {
        ImageFolder train = scan(root.resolve("train"));
        ImageFolder val = scan(root.resolve("val"));
        if (!train.classes().equals(val.classes())) {
            throw new IOException(
                    root
                            + ": train and val class folders differ: "
                            + train.classes()
                            + " vs "
                            + val.classes());
        }
        return new DatasetSplits(train, val);
    }

    /** Returns true for a regular file with an image extension. */
    public static boolean isImage(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return Files.isRegularFile(file) && dot > 0 && EXTENSIONS.contains(name.substring(dot + 1));
    }

    /** Returns the image files, in label then name order. */
    public List<Path> files() {
        return files;
    }

    @Override
    public int size() {
        return files.size();
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public int label(int index) {
        return labels[index];
    }

    @Override
    public RawImage image(int index) throws IOException {
        return decode(files.get(index));
    }

    /**
     * Decodes an image file (grey images stay grey, everything else becomes RGB).
     *
     * @throws IOException naming the file when it cannot be decoded
     */
    public static RawImage decode(Path file) throws IOException {
        BufferedImage image = ImageIO.read(file.toFile());
        if (image == null) {
            throw new IOException(file + ": not a readable image");
        }
        return fromBufferedImage(image);
    }

    /**
     * Converts any BufferedImage to an RGB {@link RawImage}. Grey images keep their stored sample
     * values (Java's {@code getRGB} would pass them through a linear-to-sRGB conversion).
     */
    public static RawImage fromBufferedImage(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        java.awt.image.Raster raster = image.getRaster();
        if (raster.getNumBands() == 1
                && image.getColorModel().getColorSpace().getType()
                        == java.awt.color.ColorSpace.TYPE_GRAY) {
            int shift = Math.max(0, raster.getSampleModel().getSampleSize(0) - 8);
            byte[] grey = new byte[width * height];
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    grey[y * width + x] = (byte) (raster.getSample(x, y, 0) >> shift);
                }
            }
            return new RawImage(width, height, 1, grey);
        }
        int[] argb = image.getRGB(0, 0, width, height, null, 0, width);
        byte[] rgb = new byte[width * height * 3];
        for (int i = 0; i < argb.length; i++) {
            rgb[3 * i] = (byte) (argb[i] >> 16);
            rgb[3 * i + 1] = (byte) (argb[i] >> 8);
            rgb[3 * i + 2] = (byte) argb[i];
        }
        return new RawImage(width, height, 3, rgb);
    }

    @Override
    public String describe() {
        return root + " (" + size() + " images, " + classes.size() + " classes)";
    }
}

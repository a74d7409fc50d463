package ai.natten.app.data;

import java.io.IOException;
import java.util.List;

/** A classification dataset: images with integer labels indexing {@link #classes()}. */
public interface LabeledImages {

    /** Returns the number of images. */
    int size();

    /** Returns the class names; label {@code i} names {@code classes().get(i)}. */
    List<String> classes();

    /** Returns the label of image {@code index}, in {@code [0, classes().size())}. */
    int label(int index);

    /**
     * Decodes image {@code index}. May be called from several threads at once.
     *
     * @throws IOException when the image cannot be read or decoded (the message names it)
     */
    RawImage image(int index) throws IOException;

    /** Returns a short description for logs, e.g. {@code "fashion-mnist train (4000 images)"}. */
    String describe();
}

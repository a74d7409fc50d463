package ai.natten.zoo.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The named tensors of a PyTorch checkpoint, widened to float32: read from safetensors or from
 * PyTorch's zip format ({@code torch.save}: {@code .pth}, {@code .bin}, {@code .pt}), told apart by
 * their first bytes. No Python and no code from the file is run.
 */
public final class StateDict {

    private final Map<String, Tensor> tensors;

    /**
     * Creates a state dict from tensors (kept in the given order).
     *
     * @param tensors name to tensor
     */
    public StateDict(Map<String, Tensor> tensors) {
        this.tensors = new LinkedHashMap<>(tensors);
    }

    /**
     * Reads a checkpoint file.
     *
     * @param file a {@code .safetensors} file or a PyTorch zip checkpoint
     * @return its tensors
     * @throws IOException if the file cannot be read or is in neither format
     */
    public static StateDict read(Path file) throws IOException {
        byte[] magic = new byte[2];
        try (InputStream in = Files.newInputStream(file)) {
            if (in.readNBytes(magic, 0, 2) < 2) {
                throw new IOException(file + " is too short to be a checkpoint");
            }
        }
        boolean zip = magic[0] == 'P' && magic[1] == 'K';
        return new StateDict(zip ? TorchZip.read(file) : Safetensors.read(file));
    }

    /** Returns the tensors by name, in file order (unmodifiable). */
    public Map<String, Tensor> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    /** Returns one tensor, or null. */
    public Tensor get(String name) {
        return tensors.get(name);
    }

    /** Returns a copy with one tensor removed. */
    public StateDict without(String name) {
        Map<String, Tensor> copy = new LinkedHashMap<>(tensors);
        copy.remove(name);
        return new StateDict(copy);
    }

    /** Returns a copy with one tensor added or replaced. */
    public StateDict with(String name, Tensor tensor) {
        Map<String, Tensor> copy = new LinkedHashMap<>(tensors);
        copy.put(name, tensor);
        return new StateDict(copy);
    }
}

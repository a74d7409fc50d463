package ai.natten.zoo.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads a state dict saved by {@code torch.save} in PyTorch's zip format ({@code .pth}, {@code
 * .bin}, {@code .pt}): {@code <archive>/data.pkl} pickles the dictionary, each storage is the raw
 * little-endian file {@code <archive>/data/<key>}. Tensors may be strided views with offsets.
 */
final class TorchZip {

    private TorchZip() {}

    @SuppressWarnings("unchecked")
    static Map<String, Tensor> read(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = null;
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                String name = e.nextElement().getName();
                if (name.endsWith("data.pkl")) {
                    prefix = name.substring(0, name.length() - "data.pkl".length());
                    break;
                }
            }
            if (prefix == null) {
                throw new IOException(
                        file + " is a zip without data.pkl: not a PyTorch checkpoint");
            }
            Object top = TorchPickle.load(bytes(zip, prefix + "data.pkl"));
            Map<Object, Object> dict = unwrap(top, file);
            Map<String, ByteBuffer> storages = new HashMap<>();
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Map.Entry<Object, Object> entry : dict.entrySet()) {
                if (!(entry.getValue() instanceof TorchPickle.TensorRef ref)) {
                    continue; // non-tensor entries (e.g. an epoch counter) are not parameters
                }
                ByteBuffer storage = storages.get(ref.storage().key());
                if (storage == null) {
                    storage =
                            Floats.littleEndian(bytes(zip, prefix + "data/" + ref.storage().key()));
                    storages.put(ref.storage().key(), storage);
                }
                tensors.put((String) entry.getKey(), gather(ref, storage));
            }
            return tensors;
        }
    }

    /** The state dict itself, or the one under "state_dict" or "model" of a training checkpoint. */
    @SuppressWarnings("unchecked")
    private static Map<Object, Object> unwrap(Object top, Path file) throws IOException {
        if (!(top instanceof Map)) {
            throw new IOException(file + " does not hold a dictionary of tensors");
        }
        Map<Object, Object> dict = (Map<Object, Object>) top;
        for (String key : new String[] {"state_dict", "model"}) {
            if (dict.get(key) instanceof Map) {
                return (Map<Object, Object>) dict.get(key);
            }
        }
        return dict;
    }

    private static Tensor gather(TorchPickle.TensorRef ref, ByteBuffer storage) {
        long[] size = ref.size();
        long count = 1;
        for (long s : size) {
            count *= s;
        }
        float[] data = new float[Math.toIntExact(count)];
        long[] index = new long[size.length];
        for (int i = 0; i < data.length; i++) {
            long element = ref.offset();
            for (int axis = 0; axis < size.length; axis++) {
                element += index[axis] * ref.stride()[axis];
            }
            data[i] = Floats.read(storage, ref.storage().type(), element);
            for (int axis = size.length - 1; axis >= 0; axis--) {
                if (++index[axis] < size[axis]) {
                    break;
                }
                index[axis] = 0;
            }
        }
        return new Tensor(size.clone(), data);
    }

    private static byte[] bytes(ZipFile zip, String name) throws IOException {
        ZipEntry entry = zip.getEntry(name);
        if (entry == null) {
            throw new IOException("checkpoint lacks " + name);
        }
        try (InputStream in = zip.getInputStream(entry)) {
            return in.readAllBytes();
        }
    }
}

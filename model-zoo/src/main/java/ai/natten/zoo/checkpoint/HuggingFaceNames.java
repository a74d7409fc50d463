package ai.natten.zoo.checkpoint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Converts Hugging Face transformers' NAT/DiNAT state dicts ({@code NatForImageClassification},
 * {@code DinatForImageClassification}, or their base models) to the original repository's names:
 * {@code attention.self.query/key/value} are concatenated into {@code attn.qkv}, {@code
 * layer_scale_parameters [2, C]} is split into {@code gamma1, gamma2}, and every module path is
 * renamed.
 */
final class HuggingFaceNames {

    private static final String[][] RENAMES = {
        {"embeddings.patch_embeddings.projection.", "patch_embed.proj."},
        {"embeddings.norm.", "patch_embed.norm."},
        {"encoder.levels.", "levels."},
        {".layers.", ".blocks."},
        {".layernorm_before.", ".norm1."},
        {".layernorm_after.", ".norm2."},
        {".attention.self.rpb", ".attn.rpb"},
        {".attention.output.dense.", ".attn.proj."},
        {".intermediate.dense.", ".mlp.fc1."},
        {".output.dense.", ".mlp.fc2."},
    };

    private static final List<String> QKV = List.of("query", "key", "value");

    private HuggingFaceNames() {}

    /** Whether a state dict uses transformers' names (a {@code nat.}/{@code dinat.} prefix). */
    static boolean matches(StateDict state) {
        return state.tensors().keySet().stream()
                .anyMatch(n -> n.startsWith("nat.") || n.startsWith("dinat."));
    }

    static StateDict toOriginal(StateDict state) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, Tensor[]> qkv = new TreeMap<>();
        for (Map.Entry<String, Tensor> entry : state.tensors().entrySet()) {
            String name = rename(entry.getKey());
            Tensor tensor = entry.getValue();
            int part = qkvPart(name);
            if (part >= 0) {
                String fused = name.replace(".attention.self." + QKV.get(part) + ".", ".attn.qkv.");
                qkv.computeIfAbsent(fused, k -> new Tensor[3])[part] = tensor;
            } else if (name.endsWith(".layer_scale_parameters")) {
                String layer = name.substring(0, name.length() - "layer_scale_parameters".length());
                Tensor[] gammas = splitRows(name, tensor);
                out.put(layer + "gamma1", gammas[0]);
                out.put(layer + "gamma2", gammas[1]);
            } else {
                out.put(name, tensor);
            }
        }
        List<String> incomplete = new ArrayList<>();
        for (Map.Entry<String, Tensor[]> entry : qkv.entrySet()) {
            Tensor[] parts = entry.getValue();
            if (parts[0] == null || parts[1] == null || parts[2] == null) {
                incomplete.add(entry.getKey());
                continue;
            }
            out.put(entry.getKey(), concatRows(entry.getKey(), parts));
        }
        if (!incomplete.isEmpty()) {
            throw new IllegalArgumentException(
                    "checkpoint lacks one of query/key/value for " + incomplete);
        }
        return new StateDict(out);
    }

    private static String rename(String name) {
        String n = name;
        if (n.startsWith("nat.") || n.startsWith("dinat.")) {
            n = n.substring(n.indexOf('.') + 1);
            if (n.startsWith("layernorm.")) {
                n = "norm." + n.substring("layernorm.".length());
            }
        } else if (n.startsWith("classifier.")) {
            return "head." + n.substring("classifier.".length());
        }
        for (String[] rename : RENAMES) {
            n = n.replace(rename[0], rename[1]);
        }
        return n;
    }

    private static int qkvPart(String name) {
        for (int part = 0; part < 3; part++) {
            if (name.contains(".attention.self." + QKV.get(part) + ".")) {
                return part;
            }
        }
        return -1;
    }

    private static Tensor concatRows(String name, Tensor[] parts) {
        long[] shape = parts[0].shape().clone();
        int total = 0;
        for (Tensor part : parts) {
            long[] rest = Arrays.copyOfRange(part.shape(), 1, part.shape().length);
            if (!Arrays.equals(rest, Arrays.copyOfRange(shape, 1, shape.length))) {
                throw new IllegalArgumentException(
                        "query/key/value of " + name + " have different shapes");
            }
            total += part.data().length;
        }
        shape[0] = parts[0].shape()[0] + parts[1].shape()[0] + parts[2].shape()[0];
        float[] data = new float[total];
        int at = 0;
        for (Tensor part : parts) {
            System.arraycopy(part.data(), 0, data, at, part.data().length);
            at += part.data().length;
        }
        return new Tensor(shape, data);
    }

    private static Tensor[] splitRows(String name, Tensor tensor) {
        if (tensor.shape().length != 2 || tensor.shape()[0] != 2) {
            throw new IllegalArgumentException(
                    name + " must have shape [2, C], got " + tensor.shapeText());
        }
        int c = (int) tensor.shape()[1];
        return new Tensor[] {
            new Tensor(new long[] {c}, Arrays.copyOfRange(tensor.data(), 0, c)),
            new Tensor(new long[] {c}, Arrays.copyOfRange(tensor.data(), c, 2 * c))
        };
    }
}

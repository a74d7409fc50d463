package ai.natten.zoo.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;
import ai.natten.zoo.nat.NatConfig;
import ai.natten.zoo.nat.NatModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Loads official NAT/DiNAT checkpoints into a {@link NatModel}: the original repository's state
 * dicts and Hugging Face transformers' ({@code nat.*}/{@code dinat.*} names, told apart
 * automatically), from safetensors or PyTorch zip files. Every parameter must be present with its
 * exact shape and no tensor may be left over; otherwise an {@link IllegalArgumentException} lists
 * the missing, unexpected and mis-shaped names.
 *
 * <pre>{@code
 * NatModel model = new NatModel(NatVariants.dinatTiny().build());
 * NatCheckpoints.load(model, Path.of("dinat_tiny_in1k_224.pth"), manager);
 * }</pre>
 */
public final class NatCheckpoints {

    private NatCheckpoints() {}

    /**
     * Reads a checkpoint file and loads it into the model.
     *
     * @param model the model, initialized or not (it is initialized here if needed)
     * @param file a {@code .safetensors}, {@code .pth} or {@code .bin} file
     * @param manager the manager owning the parameters if the model is initialized here
     * @throws IOException if the file cannot be read
     */
    public static void load(NatModel model, Path file, NDManager manager) throws IOException {
        load(model, StateDict.read(file), manager);
    }

    /**
     * Loads a state dict into the model.
     *
     * @param model the model, initialized or not (it is initialized here if needed)
     * @param state the tensors, with original or transformers names
     * @param manager the manager owning the parameters if the model is initialized here
     */
    public static void load(NatModel model, StateDict state, NDManager manager) {
        StateDict original =
                HuggingFaceNames.matches(state) ? HuggingFaceNames.toOriginal(state) : state;
        if (!model.isInitialized()) {
            NatConfig config = model.config();
            model.setInitializer(Initializer.ZEROS, p -> true);
            model.initialize(
                    manager,
                    DataType.FLOAT32,
                    new Shape(1, config.inChannels(), config.imageSize(), config.imageSize()));
        }
        Map<String, Parameter> parameters = BlockParameters.of(model);
        check(parameters, original);
        for (Map.Entry<String, Parameter> entry : parameters.entrySet()) {
            NDArray array = entry.getValue().getArray();
            float[] values = original.get(entry.getKey()).data();
            NDArray source = array.getManager().create(values, array.getShape());
            array.set(source.toType(array.getDataType(), false).toByteBuffer());
            source.close();
        }
    }

    private static void check(Map<String, Parameter> parameters, StateDict state) {
        List<String> missing = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        for (Map.Entry<String, Parameter> entry : parameters.entrySet()) {
            Tensor tensor = state.get(entry.getKey());
            long[] want = entry.getValue().getArray().getShape().getShape();
            if (tensor == null) {
                missing.add(entry.getKey());
            } else if (!Arrays.equals(want, tensor.shape())) {
                misShaped.add(
                        entry.getKey()
                                + " (model "
                                + Arrays.toString(want)
                                + ", checkpoint "
                                + tensor.shapeText()
                                + ")");
            }
        }
        TreeSet<String> unexpected = new TreeSet<>(state.tensors().keySet());
        unexpected.removeAll(parameters.keySet());
        if (!missing.isEmpty() || !misShaped.isEmpty() || !unexpected.isEmpty()) {
            StringBuilder message = new StringBuilder("checkpoint does not fit the model:");
            if (!missing.isEmpty()) {
                message.append("\n  missing: ").append(missing);
            }
            if (!unexpected.isEmpty()) {
                message.append("\n  unexpected: ").append(unexpected);
            }
            if (!misShaped.isEmpty()) {
                message.append("\n  mis-shaped: ").append(misShaped);
            }
            throw new IllegalArgumentException(message.toString());
        }
    }
}

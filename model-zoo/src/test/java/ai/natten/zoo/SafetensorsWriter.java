package ai.natten.zoo;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.natten.zoo.checkpoint.BlockParameters;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Writes a block's parameters as a float32 safetensors file under their PyTorch names. */
final class SafetensorsWriter {

    private SafetensorsWriter() {}

    static void write(Block block, Path file) throws IOException {
        JsonObject header = new JsonObject();
        List<float[]> blobs = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, Parameter> entry : BlockParameters.of(block).entrySet()) {
            float[] values = entry.getValue().getArray().toFloatArray();
            JsonObject info = new JsonObject();
            info.addProperty("dtype", "F32");
            JsonArray shape = new JsonArray();
            for (long d : entry.getValue().getArray().getShape().getShape()) {
                shape.add(d);
            }
            info.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + 4L * values.length);
            info.add("data_offsets", offsets);
            header.add(entry.getKey(), info);
            blobs.add(values);
            offset += 4L * values.length;
        }
        byte[] text = header.toString().getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(
                    ByteBuffer.allocate(8)
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .putLong(text.length)
                            .array());
            out.write(text);
            for (float[] values : blobs) {
                ByteBuffer data =
                        ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
                data.asFloatBuffer().put(values);
                out.write(data.array());
            }
        }
    }
}

package ai.natten.zoo.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the safetensors format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. F32, F16, BF16 and F64
 * tensors are widened to float32.
 */
final class Safetensors {

    private Safetensors() {}

    static Map<String, Tensor> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buffer = Floats.littleEndian(bytes);
        if (bytes.length < 8) {
            throw new IOException(file + " is not a safetensors file (too short)");
        }
        long headerLength = buffer.getLong(0);
        if (headerLength <= 0 || headerLength > bytes.length - 8) {
            throw new IOException(
                    file + " is not a safetensors file (header length " + headerLength + ")");
        }
        String text = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        JsonObject header = JsonParser.parseString(text).getAsJsonObject();
        int dataStart = 8 + (int) headerLength;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> entry : header.entrySet()) {
            if (entry.getKey().equals("__metadata__")) {
                continue;
            }
            JsonObject info = entry.getValue().getAsJsonObject();
            Floats.Type type = type(info.get("dtype").getAsString(), entry.getKey(), file);
            long[] shape = new long[info.getAsJsonArray("shape").size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = info.getAsJsonArray("shape").get(i).getAsLong();
                count *= shape[i];
            }
            long begin = info.getAsJsonArray("data_offsets").get(0).getAsLong();
            long end = info.getAsJsonArray("data_offsets").get(1).getAsLong();
            if (end - begin != count * type.bytes || dataStart + end > bytes.length) {
                throw new IOException(
                        file + ": tensor " + entry.getKey() + " has an invalid byte range");
            }
            ByteBuffer slice = Floats.littleEndian(bytes).position(dataStart + (int) begin).slice();
            slice.order(java.nio.ByteOrder.LITTLE_ENDIAN);
            float[] data = new float[Math.toIntExact(count)];
            for (int i = 0; i < data.length; i++) {
                data[i] = Floats.read(slice, type, i);
            }
            tensors.put(entry.getKey(), new Tensor(shape, data));
        }
        return tensors;
    }

    private static Floats.Type type(String dtype, String name, Path file) throws IOException {
        switch (dtype) {
            case "F32":
                return Floats.Type.F32;
            case "F16":
                return Floats.Type.F16;
            case "BF16":
                return Floats.Type.BF16;
            case "F64":
                return Floats.Type.F64;
            default:
                throw new IOException(
                        file + ": tensor " + name + " has unsupported dtype " + dtype);
        }
    }
}

package ai.natten.zoo.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.natten.zoo.nat.NatConfig;
import ai.natten.zoo.nat.NatModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Loads the small checkpoints written by real PyTorch ({@code src/test/python/make_checkpoints.py})
 * and checks DJL's logits against PyTorch's for the same input.
 */
class NatCheckpointsTest {

    private static final Path DIR = Path.of("src/test/resources/checkpoints");

    /** The architectures of the generated checkpoints, as in the generator script. */
    static final Map<String, NatConfig> CONFIGS =
            Map.of(
                    "nat_tiny", nat(),
                    "hf_nat", nat(),
                    "dinat_tiny_fp16", dinat(),
                    "hf_dinat", dinat(),
                    "dinat_isotropic_bf16", isotropic());

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    static NatConfig nat() {
        return NatConfig.builder()
                .setEmbedDim(8)
                .setDepths(2, 1)
                .setHeads(2, 4)
                .optKernelSize(3)
                .optMlpRatio(2)
                .optLayerScale(0.5f)
                .optImageSize(16)
                .optNumClasses(5)
                .build();
    }

    static NatConfig dinat() {
        return NatConfig.builder()
                .setEmbedDim(8)
                .setDepths(2, 2)
                .setHeads(2, 2)
                .optKernelSize(3)
                .optDilations(new int[] {1, 2}, new int[] {1, 1})
                .optMlpRatio(3)
                .optImageSize(24)
                .optNumClasses(4)
                .build();
    }

    static NatConfig isotropic() {
        return NatConfig.builder()
                .optIsotropic(4)
                .setEmbedDim(8)
                .setDepths(3)
                .setHeads(2)
                .optKernelSize(3)
                .optDilations(new int[] {1, 2, 1})
                .optInChannels(1)
                .optImageSize(20)
                .optNumClasses(3)
                .build();
    }

    @ParameterizedTest
    @CsvSource({
        "nat_tiny, pth",
        "nat_tiny, safetensors",
        "dinat_tiny_fp16, pth",
        "dinat_tiny_fp16, safetensors",
        "dinat_isotropic_bf16, pth",
        "dinat_isotropic_bf16, safetensors",
        "hf_nat, pth",
        "hf_nat, safetensors",
        "hf_dinat, pth",
        "hf_dinat, safetensors",
    })
    void logitsEqualPyTorch(String name, String format) throws IOException {
        NatModel model = new NatModel(CONFIGS.get(name));
        NatCheckpoints.load(model, DIR.resolve(name + "." + format), manager);
        StateDict io = StateDict.read(DIR.resolve(name + ".io.safetensors"));
        Tensor input = io.get("input");
        Tensor want = io.get("logits");
        NDArray x = manager.create(input.data(), new Shape(input.shape()));
        float[] got =
                model.forward(new ParameterStore(manager, false), new NDList(x), false)
                        .head()
                        .toFloatArray();
        assertEquals(want.data().length, got.length);
        double largest = 0;
        for (int i = 0; i < got.length; i++) {
            largest = Math.max(largest, Math.abs(want.data()[i]));
            assertEquals(want.data()[i], got[i], 1e-4, name + " logit " + i);
        }
        assertTrue(largest > 0.1, "logits must not be trivially small: " + largest);
    }

    @Test
    void bothFormatsHoldTheSameTensors() throws IOException {
        for (String name : CONFIGS.keySet()) {
            StateDict pth = StateDict.read(DIR.resolve(name + ".pth"));
            StateDict safetensors = StateDict.read(DIR.resolve(name + ".safetensors"));
            assertEquals(pth.tensors().keySet(), safetensors.tensors().keySet(), name);
            for (String tensor : pth.tensors().keySet()) {
                assertEquals(
                        java.util.Arrays.toString(pth.get(tensor).data()),
                        java.util.Arrays.toString(safetensors.get(tensor).data()),
                        name + " " + tensor);
            }
        }
    }

    @Test
    void missingExtraAndMisShapedTensorsAreListed() throws IOException {
        StateDict state = StateDict.read(DIR.resolve("nat_tiny.safetensors"));
        String rpb = "levels.0.blocks.1.attn.rpb";
        StateDict broken =
                state.without(rpb)
                        .with("levels.0.blocks.0.extra", new Tensor(new long[] {1}, new float[1]))
                        .with("head.bias", new Tensor(new long[] {4}, new float[4]));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> NatCheckpoints.load(new NatModel(nat()), broken, manager));
        String message = e.getMessage();
        assertTrue(message.contains("missing: [" + rpb + "]"), message);
        assertTrue(message.contains("unexpected: [levels.0.blocks.0.extra]"), message);
        assertTrue(message.contains("head.bias (model [5], checkpoint [4])"), message);

        StateDict hf = StateDict.read(DIR.resolve("hf_nat.safetensors"));
        String key = "nat.encoder.levels.0.layers.0.attention.self.key.weight";
        IllegalArgumentException partial =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> NatCheckpoints.load(new NatModel(nat()), hf.without(key), manager));
        assertTrue(partial.getMessage().contains("levels.0.blocks.0.attn.qkv.weight"));
    }

    @Test
    void filesInNeitherFormatAreClearErrors() throws IOException {
        Path junk = Files.createTempFile("junk", ".pth");
        try {
            Files.write(junk, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
            IOException e = assertThrows(IOException.class, () -> StateDict.read(junk));
            assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());
        } finally {
            Files.delete(junk);
        }
    }

    @Test
    void halfPrecisionWidensExactly() {
        assertEquals(1f, Floats.halfToFloat((short) 0x3c00));
        assertEquals(-2f, Floats.halfToFloat((short) 0xc000));
        assertEquals(65504f, Floats.halfToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, Floats.halfToFloat((short) 0x0001));
        assertEquals(Float.NEGATIVE_INFINITY, Floats.halfToFloat((short) 0xfc00));
        assertTrue(Float.isNaN(Floats.halfToFloat((short) 0x7e00)));
    }
}

package ai.natten.app.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/** The floating-point format a model trains and runs in. */
public enum Precision {
    /** float32 everywhere. */
    FP32(DataType.FLOAT32),
    /**
     * float16 parameters and activations on GPUs, with float32 master weights and moments in the
     * optimizer and dynamic loss scaling.
     */
    FP16(DataType.FLOAT16),
    /** bfloat16: refused, DJL 0.35.1 terminates the JVM on creating any bfloat16 tensor. */
    BF16(DataType.BFLOAT16);

    private final DataType dataType;

    Precision(DataType dataType) {
        this.dataType = dataType;
    }

    /** Returns the parameters' and activations' data type. */
    public DataType dataType() {
        return dataType;
    }

    /**
     * Parses {@code fp32}, {@code fp16} or {@code bf16} (also {@code float32}, {@code float16},
     * {@code bfloat16}), case-insensitively.
     */
    public static Precision parse(String text) {
        switch (text.toLowerCase(Locale.ROOT)) {
            case "fp32", "float32" -> {
                return FP32;
            }
            case "fp16", "float16", "half" -> {
                return FP16;
            }
            case "bf16", "bfloat16" -> {
                return BF16;
            }
            default ->
                    throw new IllegalArgumentException(
                            "precision must be fp32, fp16 or bf16, got '" + text + "'");
        }
    }

    /**
     * Checks that this precision can run on the devices.
     *
     * @throws IllegalArgumentException for bf16 (DJL 0.35.1 cannot hold bfloat16 tensors) and for
     *     fp16 on a CPU (PyTorch's CPU kernels lack float16 training support)
     */
    public void checkSupported(Device[] devices) {
        if (this == BF16) {
            throw new IllegalArgumentException(
                    "--precision bf16 is not supported: DJL 0.35.1 terminates the JVM when it"
                            + " creates any bfloat16 tensor; use fp16 on a GPU or fp32");
        }
        if (this == FP16) {
            for (Device device : devices) {
                if (!device.isGpu()) {
                    throw new IllegalArgumentException(
                            "--precision fp16 needs GPU devices, got "
                                    + device
                                    + "; train in fp32 on a CPU");
                }
            }
        }
    }
}

package ai.natten.djl;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaProblem;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Decides which backend computes a call. {@link NaBackend#COMPOSITE} is always composite. {@link
 * NaBackend#FUSED} is fused or an {@link IllegalStateException} saying why it cannot be. {@link
 * NaBackend#AUTO} is fused when everything it needs holds (PyTorch arrays on a GPU, a supported
 * data type, the engine extension loaded, the kernels present and supporting the problem), else
 * composite, and the reason is logged once.
 */
final class BackendSelector {

    private static final Set<DataType> FUSED_TYPES =
            Set.of(DataType.FLOAT32, DataType.FLOAT16, DataType.BFLOAT16);

    private final Supplier<Availability> extension;
    private final FusedKernels kernels;
    private final FallbackLog log;

    /**
     * @param extension the engine extension's state, asked only for PyTorch arrays on a GPU
     * @param kernels the fused kernels
     * @param log where AUTO's fallbacks are said
     */
    BackendSelector(Supplier<Availability> extension, FusedKernels kernels, FallbackLog log) {
        this.extension = extension;
        this.kernels = kernels;
        this.log = log;
    }

    /** Returns the selector of this process: the real extension and kernels, logging to slf4j. */
    static BackendSelector system() {
        return new BackendSelector(
                TorchExtension::status, FusedKernels.installed(), FallbackLog.toLogger());
    }

    /** Returns the kernels the fused choice runs. */
    FusedKernels kernels() {
        return kernels;
    }

    /**
     * Chooses the backend of one call.
     *
     * @param requested the caller's choice
     * @param problem the validated problem
     * @param type the inputs' data type
     * @param device the inputs' device
     * @param engineName the engine of the input arrays
     * @param needsGradient whether an input requires a gradient (the backward will run)
     * @param attentionDropout the attention-dropout rate of the call (only composite has dropout)
     * @return {@link NaBackend#FUSED} or {@link NaBackend#COMPOSITE}
     * @throws IllegalStateException if FUSED was requested and cannot run, with the reason
     */
    NaBackend select(
            NaBackend requested,
            NaProblem problem,
            DataType type,
            Device device,
            String engineName,
            boolean needsGradient,
            float attentionDropout) {
        if (requested == NaBackend.COMPOSITE) {
            return NaBackend.COMPOSITE;
        }
        String reason =
                attentionDropout > 0
                        ? "attention dropout (rate "
                                + attentionDropout
                                + ") is implemented by the composite backend only"
                        : whyNotFused(problem, type, device, engineName, needsGradient);
        if (reason == null) {
            return NaBackend.FUSED;
        }
        if (requested == NaBackend.FUSED) {
            throw new IllegalStateException("NaBackend.FUSED cannot run this call: " + reason);
        }
        log.fallback(reason);
        return NaBackend.COMPOSITE;
    }

    private String whyNotFused(
            NaProblem problem, DataType type, Device device, String engine, boolean backward) {
        if (!device.isGpu()) {
            return "the inputs are on " + device + ", the fused kernels run on CUDA GPUs";
        }
        if (!FUSED_TYPES.contains(type)) {
            return "the fused kernels take float32, float16 and bfloat16, the inputs are " + type;
        }
        if (!"PyTorch".equals(engine)) {
            return "the fused backend needs DJL's PyTorch engine, the inputs come from " + engine;
        }
        Availability ready = extension.get();
        if (!ready.isAvailable()) {
            return ready.reason();
        }
        Availability present = kernels.availability();
        if (!present.isAvailable()) {
            return present.reason();
        }
        return kernels.unsupported(problem, type, backward);
    }
}

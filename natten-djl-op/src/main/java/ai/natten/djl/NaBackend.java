package ai.natten.djl;

/** Which implementation computes neighborhood attention. */
public enum NaBackend {
    /**
     * The fused CUDA kernels where they can run (a CUDA device, a supported dtype), else composite.
     */
    AUTO,
    /** Stock DJL operators: any device and dtype DJL supports, autograd through DJL. */
    COMPOSITE,
    /** The fused CUDA kernels; an error where they cannot run. */
    FUSED
}

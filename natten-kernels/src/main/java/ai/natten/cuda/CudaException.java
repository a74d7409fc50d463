package ai.natten.cuda;

/** A CUDA driver call failed; the message names the call, the kernel and the problem shapes. */
public class CudaException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the exception with its message. */
    public CudaException(String message) {
        super(message);
    }
}

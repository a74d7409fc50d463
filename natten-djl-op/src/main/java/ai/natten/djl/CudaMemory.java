package ai.natten.djl;

/**
 * Statistics of PyTorch's CUDA caching allocator on one device, in bytes.
 *
 * @param allocated bytes held by live tensors now
 * @param peakAllocated the most bytes held by live tensors since the last reset
 * @param reserved bytes the allocator holds from CUDA (allocated plus cached)
 */
public record CudaMemory(long allocated, long peakAllocated, long reserved) {}

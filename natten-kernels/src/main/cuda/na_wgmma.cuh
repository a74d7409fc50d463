// Hopper primitives (sm_90a only) for the warp-specialized forward: shared-memory matrix
// descriptors of 128-byte-swizzled tiles, wgmma.mma_async m64nNk16 with A from registers and fp32
// accumulators and the fences around it, shared-memory mbarriers (a producer/consumer pipeline of
// cp.async stages) and setmaxnreg. Every such instruction is compiled only where NA_HAS_WGMMA is 1
// (the sm_90a pass); elsewhere the wrappers are empty and never instantiated.
#pragma once
#include "na_mma.cuh"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define NA_HAS_WGMMA 1
#else
#define NA_HAS_WGMMA 0
#endif

namespace wg {

// A tile of ROWS rows of 16-bit elements in the 128-byte-swizzle layout of wgmma: column blocks
// of 64 elements (128 bytes per row), each ROWS x 128 bytes; within a block, 16-byte chunk c of
// row r sits at chunk c ^ (r % 8). The tile must start on a 1024-byte boundary. Byte offset of
// chunk `chunk` (8 elements, counted over the whole row) of row `row`:
template <int ROWS>
__device__ __forceinline__ int swizzled_offset(int row, int chunk) {
    return (chunk >> 3) * (ROWS * 128) + row * 128 + (((chunk & 7) ^ (row & 7)) << 4);
}

// Where a tile of ROWS rows of D 16-bit elements in that layout keeps row r's chunk c (elements),
// for load_rows.
template <int ROWS>
struct SwizzledRows {
    static __device__ __forceinline__ int offset(int r, int c) { return swizzled_offset<ROWS>(r, c) >> 1; }
};

// Matrix descriptor (PTX ISA, "Matrix Descriptor Format") of a 128-byte-swizzled operand at
// shared address `addr`: lbo and sbo are the leading and stride dimension byte offsets.
__device__ __forceinline__ uint64_t descriptor(uint32_t addr, uint32_t lbo, uint32_t sbo) {
    return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(lbo >> 4) << 16) |
           (static_cast<uint64_t>(sbo >> 4) << 32) | (1ull << 62);
}

// B operand of S = Q K^T for k16 step kk: keys are the N rows, the head dim is K (K-major).
// Column block kk / 4, 32 bytes per step inside it; 8-row groups 1024 bytes apart (sbo).
template <int ROWS>
__device__ __forceinline__ uint64_t k_major(uint32_t tile, int kk) {
    return descriptor(tile + (kk >> 2) * (ROWS * 128) + (kk & 3) * 32, 16, 1024);
}

// B operand of O += P V for k16 step kk (16 keys): the head dim is N and contiguous (MN-major,
// transposed B): 64-element column blocks ROWS * 128 bytes apart (lbo), 8-key groups 1024 (sbo).
template <int ROWS>
__device__ __forceinline__ uint64_t mn_major(uint32_t tile, int kk) {
    return descriptor(tile + kk * 16 * 128, ROWS * 128, 1024);
}

__device__ __forceinline__ void fence() {
#if NA_HAS_WGMMA
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void commit() {
#if NA_HAS_WGMMA
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void wait() {
#if NA_HAS_WGMMA
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
// Shared memory written by the generic proxy (cp.async, stores) made visible to wgmma's reads.
__device__ __forceinline__ void fence_proxy_async() {
#if NA_HAS_WGMMA
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
// Pins accumulator registers: the compiler may not move their accesses across this point.
template <int N>
__device__ __forceinline__ void fence_operands(float* d) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// The instruction text of wgmma.mma_async m64nNk16, A from 4 registers, B by descriptor, D in
// N / 2 fp32 registers per thread; scale_d = 0 overwrites D; TRANS_B = 1 for an MN-major B.
#define NA_WGMMA_M64N64K16(TY) \
    asm volatile( \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n" \
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " {" \
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31" \
        "}, {%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n" \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]) \
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(scale_d), "n"(TRANS_B))

#define NA_WGMMA_M64N128K16(TY) \
    asm volatile( \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n" \
        "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " {" \
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63" \
        "}, {%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n" \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]) \
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(scale_d), "n"(TRANS_B))

// The instruction text of wgmma.mma_async m64n64k16 with A and B by descriptor (both K-major).
#define NA_WGMMA_M64N64K16_SS(TY) \
    asm volatile( \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n" \
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " {" \
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31" \
        "}, %32, %33, p, 1, 1, 0, 0;\n}\n" \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]) \
        : "l"(descA), "l"(descB), "r"(scale_d))

// d[64 x 64] (+)= A[64 x 16] * B[16 x 64] over the warpgroup, both operands K-major in shared
// memory (descriptors); d per warp in the mma.sync m16n8 layout, n8 blocks in order.
template <typename T>
__device__ __forceinline__ void mma_ss(float* d, uint64_t descA, uint64_t descB, int scale_d) {
#if NA_HAS_WGMMA
    if constexpr (__is_same(T, __half)) {
        NA_WGMMA_M64N64K16_SS("f16");
    } else {
        NA_WGMMA_M64N64K16_SS("bf16");
    }
#endif
}

// d[64 x N] (+)= a[64 x 16] * B[16 x N] over the warpgroup; the d and a fragments of each warp
// are those of mma.sync m16n8k16 (rows 16 * (warp % 4) onwards), n8 blocks in order.
template <typename T, int N, int TRANS_B>
__device__ __forceinline__ void mma_rs(float* d, const uint32_t* a, uint64_t desc, int scale_d) {
    static_assert(N == 64 || N == 128, "wgmma instances exist for N = 64 and 128");
#if NA_HAS_WGMMA
    if constexpr (N == 64) {
        if constexpr (__is_same(T, __half)) {
            NA_WGMMA_M64N64K16("f16");
        } else {
            NA_WGMMA_M64N64K16("bf16");
        }
    } else {
        if constexpr (__is_same(T, __half)) {
            NA_WGMMA_M64N128K16("f16");
        } else {
            NA_WGMMA_M64N128K16("bf16");
        }
    }
#endif
}

// Shared-memory mbarriers: a phase completes when `count` arrivals have happened (init); waiters
// test the phase parity.
__device__ __forceinline__ void mbar_init(uint64_t* bar, int count) {
#if NA_HAS_WGMMA
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count) : "memory");
#endif
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
#if NA_HAS_WGMMA
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_addr(bar)) : "memory");
#endif
}
// One arrival once every cp.async this thread issued before has landed (counted in init's count).
__device__ __forceinline__ void mbar_arrive_cp_async(uint64_t* bar) {
#if NA_HAS_WGMMA
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(smem_addr(bar)) : "memory");
#endif
}
// Blocks until the phase of parity `parity` has completed.
__device__ __forceinline__ void mbar_wait(uint64_t* bar, int parity) {
#if NA_HAS_WGMMA
    asm volatile(
        "{\n.reg .pred done;\nWAIT:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
        "@!done bra WAIT;\n}\n" ::"r"(smem_addr(bar)),
        "r"(parity)
        : "memory");
#endif
}

// Lowers (release_registers) or raises (claim_registers) the register budget of this
// warpgroup's threads from here on (warpgroup-wide; a multiple of 8 in [24, 256]).
template <int REGS>
__device__ __forceinline__ void release_registers() {
#if NA_HAS_WGMMA
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(REGS));
#endif
}
template <int REGS>
__device__ __forceinline__ void claim_registers() {
#if NA_HAS_WGMMA
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(REGS));
#endif
}

// The warps of a warp-specialized CTA: warpgroup 0 the producer, warpgroups 1 .. CW the
// consumers, 64 rows each of the CTA's ROWS. CW = 2: one CTA per SM (setmaxnreg budgets
// 56 * 128 + 224 * 256 <= 64 K registers); CW = 1: two (2 * 128 * (48 + 208) = 64 K). ptxas:
// no spills at these budgets, where 40 or 24 for the producer spill its loop at CW = 2.
template <int CW>
struct Team {
    static_assert(CW == 1 || CW == 2, "one or two consumer warpgroups");
    static constexpr int ROWS = 64 * CW;
    static constexpr int THREADS = 128 * (1 + CW);
    static constexpr int CONSUMER_THREADS = 128 * CW;
    static constexpr int CONSUMER_WARPS = 4 * CW;
    static constexpr int CTAS_PER_SM = CW == 2 ? 1 : 2;
    static constexpr int PRODUCER_REGS = CW == 2 ? 56 : 48;
    static constexpr int CONSUMER_REGS = CW == 2 ? 224 : 208;
};

// The stages of a warp-specialized CTA of Team<CW>: per stage a "full" mbarrier, complete when the
// producer's 128 threads' copies into it have landed, and an "empty" one, complete when every
// consumer warp is done with it. bars: 2 * STAGES mbarriers in shared memory.
template <int STAGES, int CW>
struct Pipeline {
    uint64_t* full;
    uint64_t* empty;

    __device__ __forceinline__ explicit Pipeline(uint64_t* bars) : full(bars), empty(bars + STAGES) {}

    // Initializes the barriers (by CTA thread tid; a CTA barrier must follow before any use).
    __device__ __forceinline__ void init(int tid) const {
        if (tid < STAGES) {
            mbar_init(full + tid, 128);
            mbar_init(empty + tid, Team<CW>::CONSUMER_WARPS);
        }
    }

    // The producer warpgroup's part: hands its registers to the consumers, then fills the stage of
    // each of the n tiles walked by load(j, stage) (cp.async) once the consumers have released it.
    template <typename Load>
    __device__ __forceinline__ void produce(int n, Load load) const {
        release_registers<Team<CW>::PRODUCER_REGS>();
        for (int j = 0; j < n; ++j) {
            const int stage = j % STAGES;
            if (j >= STAGES) mbar_wait(empty + stage, (j / STAGES - 1) & 1);
            load(j, stage);
            mbar_arrive_cp_async(full + stage);
        }
        cp_async_wait<0>();
    }

    // A consumer thread: waits until tile j's stage has landed, made visible to wgmma; its stage.
    __device__ __forceinline__ int acquire(int j) const {
        const int stage = j % STAGES;
        mbar_wait(full + stage, (j / STAGES) & 1);
        fence_proxy_async();  // the copies, seen through the mbarrier, made visible to wgmma
        return stage;
    }

    // A consumer warp is done with the stage (its products completed).
    __device__ __forceinline__ void release(int stage, int lane) const {
        if (lane == 0) mbar_arrive(empty + stage);
    }
};

// Barrier `id` (1..15; 0 is __syncthreads) among `threads` threads.
__device__ __forceinline__ void named_barrier(int id, int threads) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// By every consumer thread of Team<CW>: waits for its own cp.async loads, then makes every
// consumer's visible to all of them and, through the async proxy, to wgmma.
template <int CW>
__device__ __forceinline__ void await_consumer_loads() {
    cp_async_commit();
    cp_async_wait<0>();
    named_barrier(1, Team<CW>::CONSUMER_THREADS);
    fence_proxy_async();
}
}  // namespace wg

// Warp-level tensor-core primitives for sm_80+: cp.async, ldmatrix, mma.sync m16n8k16 (fp32 acc).
#pragma once
#include "na_common.cuh"

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy global -> shared; zero-fills the destination when !valid.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldsm_x4(uint32_t* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}

// c[16x8] += a[16x16] * b[16x8]; a row-major fragment (4 regs), b column fragment (2 regs).
template <typename T>
__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, const uint32_t* b) {
    if constexpr (__is_same(T, __half)) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
            "{%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
            "{%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
}

// Bit c set iff tile-local element c of a row-major box `tile` (64 elements) at `origin` has, on
// every axis a, its coordinate in [range[a], range[3 + a]). span[a] = elements per step of axis
// a; comb[a] repeats one period of axis a over the 64 elements. Each axis' set is one run of bits
// per period, so the mask costs a few integer operations instead of one test per element.
__device__ __forceinline__ uint64_t box_mask(const int* range, const int* origin, const int* tile,
                                             const int* span, const uint64_t* comb) {
    uint64_t keep = ~0ull;
#pragma unroll
    for (int a = 0; a < 3; ++a) {
        const int lo = min(max(range[a] - origin[a], 0), tile[a]);
        const int hi = min(max(range[3 + a] - origin[a], lo), tile[a]);
        keep &= (low_bits(hi * span[a]) & ~low_bits(lo * span[a])) * comb[a];
    }
    return keep;
}

// span and comb of box_mask for a row-major box of 64 elements.
__device__ __forceinline__ void box_mask_setup(const int* tile, int* span, uint64_t* comb) {
    span[0] = tile[1] * tile[2];
    span[1] = tile[2];
    span[2] = 1;
#pragma unroll
    for (int a = 0; a < 3; ++a) {
        comb[a] = 0;
        for (int c = 0; c < 64; c += tile[a] * span[a]) comb[a] |= 1ull << c;
    }
}

// Applies a 64-bit column mask to a warp's S accumulator row (m16n8 blocks, BN = 64 columns):
// kept elements are scaled by sl2, others set to -inf. `keep` is pre-shifted by 2 * (lane & 3).
__device__ __forceinline__ void apply_mask(float (*s)[4], int half, uint64_t keep, float sl2) {
    const uint32_t lo = static_cast<uint32_t>(keep), hi = static_cast<uint32_t>(keep >> 32);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int bit = i * 8 + e;
            const bool in = ((bit < 32 ? lo >> bit : hi >> (bit - 32)) & 1u) != 0;
            float& x = s[i][half * 2 + e];
            x = in ? x * sl2 : -INFINITY;
        }
    }
}

// Warp-level tensor-core primitives for sm_80+: cp.async, ldmatrix, mma.sync (fp32 accumulation),
// and the operand policy MmaOps<T> through which the tensor-core kernels use them for every dtype.
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
// 4-byte async copy global -> shared (through L1); zero-fills the destination when !valid.
__device__ __forceinline__ void cp_async4(void* dst, const void* src, bool valid) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
                 "r"(valid ? 4 : 0));
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

// c[16x8] += a[16x8] * b[8x8] in tf32 (operands: float32 bit patterns already rounded to tf32).
__device__ __forceinline__ void mma1688_tf32(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// A 32-bit shared load, ordered like ldmatrix among the fragment loads and the mma.sync.
__device__ __forceinline__ uint32_t lds32(const void* p) {
    uint32_t r;
    asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(r) : "r"(smem_addr(p)));
    return r;
}

__device__ __forceinline__ uint32_t to_tf32(float x) {
    uint32_t y;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(y) : "f"(x));
    return y;
}

// Two adjacent elements (a first) as one value of the type that stores them together:
// *reinterpret_cast<Pair2<T>*>(p) = pair2<T>(a, b).
template <typename T>
struct Pair2Of {
    using type = uint32_t;
};
template <>
struct Pair2Of<float> {
    using type = float2;
};
template <typename T>
using Pair2 = typename Pair2Of<T>::type;
template <typename T>
__device__ __forceinline__ Pair2<T> pair2(float a, float b) {
    if constexpr (sizeof(T) == 4) {
        return make_float2(a, b);
    } else {
        return pack2<T>(a, b);
    }
}

// How the tensor-core kernels feed mma.sync for element type T. Shared-memory tiles hold rows of
// elements padded by one 16-byte chunk (LDS = row elements + EPC), filled by 16-byte cp.async
// chunks of EPC elements. A k-step spans KS elements = 32 bytes of a row:
//   fp16/bf16: one m16n8k16 per 16x8 output block; fragments by ldmatrix (.trans for operands
//              stored k-major).
//   float32:   3xTF32: x = hi + lo with hi = tf32(x), lo = tf32(x - hi), and a*b ~= hi_a hi_b +
//              hi_a lo_b + lo_a hi_b by three m16n8k8 tf32 (the dropped lo_a lo_b is ~2^-22
//              relative): float32 accuracy on the tensor cores. ldmatrix (b16, non-trans) on rows
//              of floats yields exactly the tf32 A and B fragments of row-major operands; operands
//              stored k-major are read by 32-bit shared loads. Within a k-step, k index t (0..3)
//              stands for row 2t and t + 4 for row 2t + 1: then an S/P accumulator block (columns
//              2t, 2t+1 per lane) is already this lane's A fragment, with no shuffles.
// Fragments: A covers 16 rows x KS, B two 8-column blocks x KS (mma's nb selects one). Loads
// take the tile's base, the first row and column of the fragment, and the row stride ld.
template <bool TF32>
struct MmaFrag {
    uint32_t hi[4];
    uint32_t lo[4];
};
template <>
struct MmaFrag<false> {
    uint32_t hi[4];
};

template <typename T>
struct MmaOps {
    static constexpr int EPC = 16 / sizeof(T);  // elements per 16-byte chunk
    static constexpr int KS = 32 / sizeof(T);   // elements per k-step
    static constexpr bool TF32 = sizeof(T) == 4;
    using Frag = MmaFrag<TF32>;

    // Splits 4 raw floats (in hi) into their tf32 hi and lo parts; nothing for 16-bit types.
    static __device__ __forceinline__ void split(Frag& f) {
        if constexpr (TF32) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float x = __uint_as_float(f.hi[i]);
                f.hi[i] = to_tf32(x);
                f.lo[i] = to_tf32(x - __uint_as_float(f.hi[i]));
            }
        }
    }

    // A: rows m of k-contiguous elements.
    static __device__ __forceinline__ void load_a(Frag& f, const T* p, int row, int col, int ld, int lane) {
        ldsm_x4(f.hi, p + (row + (lane & 7) + ((lane >> 3) & 1) * 8) * ld + col + (lane >> 4) * (KS / 2));
        split(f);
    }

    // B: rows n of k-contiguous elements.
    static __device__ __forceinline__ void load_b(Frag& f, const T* p, int row, int col, int ld, int lane) {
        ldsm_x4(f.hi, p + (row + (lane & 7) + (lane >> 4) * 8) * ld + col + ((lane >> 3) & 1) * (KS / 2));
        split(f);
    }

    // B from rows k of n-contiguous elements.
    static __device__ __forceinline__ void load_b_kmajor(Frag& f, const T* p, int row, int col, int ld, int lane) {
        if constexpr (TF32) {
            const T* r = p + (row + 2 * (lane & 3)) * ld + col + (lane >> 2);
            f.hi[0] = lds32(r);
            f.hi[1] = lds32(r + ld);
            f.hi[2] = lds32(r + 8);
            f.hi[3] = lds32(r + ld + 8);
            split(f);
        } else {
            ldsm_x4_t(f.hi, p + (row + (lane & 7) + ((lane >> 3) & 1) * 8) * ld + col + (lane >> 4) * 8);
        }
    }

    // A from rows k of m-contiguous elements.
    static __device__ __forceinline__ void load_a_kmajor(Frag& f, const T* p, int row, int col, int ld, int lane) {
        if constexpr (TF32) {
            const T* r = p + (row + 2 * (lane & 3)) * ld + col + (lane >> 2);
            f.hi[0] = lds32(r);
            f.hi[1] = lds32(r + 8);
            f.hi[2] = lds32(r + ld);
            f.hi[3] = lds32(r + ld + 8);
            split(f);
        } else {
            ldsm_x4_t(f.hi, p + (row + (lane & 7) + ((lane >> 4) & 1) * 8) * ld + col + ((lane >> 3) & 1) * 8);
        }
    }

    // A from the accumulators of the KS / 8 output blocks acc[0..] (a row block's S or P).
    static __device__ __forceinline__ void a_from_acc(Frag& f, const float (*acc)[4]) {
        if constexpr (TF32) {
            f.hi[0] = __float_as_uint(acc[0][0]);
            f.hi[1] = __float_as_uint(acc[0][2]);
            f.hi[2] = __float_as_uint(acc[0][1]);
            f.hi[3] = __float_as_uint(acc[0][3]);
            split(f);
        } else {
            f.hi[0] = pack2<T>(acc[0][0], acc[0][1]);
            f.hi[1] = pack2<T>(acc[0][2], acc[0][3]);
            f.hi[2] = pack2<T>(acc[1][0], acc[1][1]);
            f.hi[3] = pack2<T>(acc[1][2], acc[1][3]);
        }
    }

    // c[16x8] += A . B's output block nb (0 or 1) over one k-step.
    static __device__ __forceinline__ void mma(float* c, const Frag& a, const Frag& b, int nb) {
        if constexpr (TF32) {
            mma1688_tf32(c, a.lo, b.hi + 2 * nb);
            mma1688_tf32(c, a.hi, b.lo + 2 * nb);
            mma1688_tf32(c, a.hi, b.hi + 2 * nb);
        } else {
            mma16816<T>(c, a.hi, b.hi + 2 * nb);
        }
    }
};

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

constexpr float kLog2e = 1.4426950408889634f;

// Tile-local coordinates c (each below 64), packed 10 bits per axis as the kernels' key and query
// tables hold them: c0 | c1 << 10 | c2 << 20 (bit 9 of each field stays clear for packed_in).
__device__ __forceinline__ int pack_coords(const int* c) { return c[0] | (c[1] << 10) | (c[2] << 20); }

// Group coordinates of the element at packed tile-local coordinates (pack_coords) of a tile at origin.
__device__ __forceinline__ void tile_coords(const int* origin, int packed, int* x) {
    x[0] = origin[0] + (packed & 1023);
    x[1] = origin[1] + ((packed >> 10) & 1023);
    x[2] = origin[2] + (packed >> 20);
}

// apply_mask plus the relative positional bias of head h (log2 domain) on the kept elements. The
// row's group coordinates are `row`; column c sits at tile-local packed[c] of the tile at origin.
// Rows are queries and columns keys (S), or with ROWS_ARE_KEYS the reverse (S^T).
template <typename T, bool ROWS_ARE_KEYS>
__device__ __forceinline__ void apply_mask_rpb(float (*s)[4], int half, uint64_t keep, float sl2,
                                               const NaParams& p, int h, const int* row,
                                               const int* origin, const int* packed, int lane) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            float& x = s[i][half * 2 + e];
            if ((keep >> (i * 8 + e)) & 1) {
                int col[3];
                tile_coords(origin, packed[i * 8 + (lane & 3) * 2 + e], col);
                const int idx = ROWS_ARE_KEYS ? rpb_index(p, h, col, row) : rpb_index(p, h, row, col);
                x = x * sl2 + kLog2e * to_float(static_cast<const T*>(p.rpb)[idx]);
            } else {
                x = -INFINITY;
            }
        }
    }
}

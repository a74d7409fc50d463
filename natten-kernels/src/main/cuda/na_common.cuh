// Shared definitions of the fused neighborhood-attention kernels: the launch parameters, the window
// rule of one axis (shared/na-semantics.md, in dilation-group coordinates), dtype helpers.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

// Every kernel takes this one struct by value. The Java side (ai.natten.cuda.KernelParams) writes
// the same bytes: 16 pointers, then 4-byte fields in this order. Problems of rank < 3 are padded
// in front with axes of length 1 and kernel 1 so that every kernel is rank 3.
struct NaParams {
    const void* q;      // [B, N, H, D]
    const void* k;      // [B, N, Hkv, D]
    const void* v;      // [B, N, Hkv, D]
    void* o;            // [B, N, H, D]
    float* lse;         // [B, N, H], natural log
    const void* rpb;    // [H, 2k0-1, 2k1-1, 2k2-1] or null
    const void* addk;   // [B, T, Hkv, D] or null
    const void* addv;   // [B, T, Hkv, D] or null
    const void* dout;   // backward: [B, N, H, D]
    void* dq;           // backward: [B, N, H, D]
    void* dk;           // backward: [B, N, Hkv, D]
    void* dv;           // backward: [B, N, Hkv, D]
    void* drpb;         // backward: like rpb
    void* daddk;        // backward: like addk
    void* daddv;        // backward: like addv
    float* delta;       // backward workspace: [B, N, H] = rowsum(dout * o)
    int B, H, Hkv, D, T;
    int L[3], ks[3], dil[3], str[3], causal[3];
    int tq[3];     // query tile shape (group coordinates)
    int tkv[3];    // key/value tile shape
    int tiles[3];  // query tiles per axis of the longest dilation group
    float scale;   // softmax scale
    float scale_log2;  // scale * log2(e)
};
static_assert(sizeof(NaParams) == 256, "NaParams layout is shared with Java");

// Window [start, end) of group index i in a group of length lg (na-semantics.md, one axis).
// Stride 1 (the common case) skips the division.
__device__ __forceinline__ void axis_window(int i, int lg, int k, int s, int causal, int& start,
                                            int& end) {
    int first = i;  // first index of i's stride block
    if (s != 1) first = (i / s) * s;
    if (causal) {
        int leader = min(first + s - 1, lg - 1);
        start = max(leader - (k - 1), 0);
        end = min(i + 1, lg);
    } else {
        int wl = k / 2;
        int wr = k / 2 + (k & 1) - 1;
        int leader = min(first + s / 2, lg - 1);
        start = max(wl, min(leader, lg - 1 - wr)) - wl;
        end = start + k;
    }
}

// Queries (group indices) whose window contains key j on one axis: [lo, hi). Windows' starts and
// ends are monotonic in the query index, so both bounds are binary searches.
__device__ __forceinline__ void inverse_window(int j, int lg, int k, int s, int causal, int& lo, int& hi) {
    int a = 0, b = lg;  // first i with end(i) > j
    while (a < b) {
        int mid = (a + b) >> 1, st, en;
        axis_window(mid, lg, k, s, causal, st, en);
        if (en > j) b = mid; else a = mid + 1;
    }
    lo = a;
    a = lo, b = lg;  // first i with start(i) > j
    while (a < b) {
        int mid = (a + b) >> 1, st, en;
        axis_window(mid, lg, k, s, causal, st, en);
        if (st > j) b = mid; else a = mid + 1;
    }
    hi = a;
}

// [lo, hi) on one axis of group index i: its window (the keys it attends to) or, with INVERSE, its
// inverse window (the queries whose windows hold it).
template <bool INVERSE>
__device__ __forceinline__ void side_window(int i, int lg, int k, int s, int causal, int& lo, int& hi) {
    if constexpr (INVERSE)
        inverse_window(i, lg, k, s, causal, lo, hi);
    else
        axis_window(i, lg, k, s, causal, lo, hi);
}

__device__ __forceinline__ int group_length(int L, int d, int g) { return L / d + (g < L % d ? 1 : 0); }

// Splits a flat index over a 3-D box (row-major) into coordinates.
__device__ __forceinline__ void unflatten(int idx, const int* shape, int* c) {
    c[2] = idx % shape[2];
    idx /= shape[2];
    c[1] = idx % shape[1];
    c[0] = idx / shape[1];
}

// Token (row-major spatial index) of group coordinates x in dilation group g.
__device__ __forceinline__ int token_of(const NaParams& p, const int* x, const int* g) {
    return ((x[0] * p.dil[0] + g[0]) * p.L[1] + x[1] * p.dil[1] + g[1]) * p.L[2] + x[2] * p.dil[2] +
           g[2];
}

// Offset of the bias between query group coords qi and key group coords kj within head h's table.
__device__ __forceinline__ int rpb_index(const NaParams& p, int h, const int* qi, const int* kj) {
    int idx = h;
#pragma unroll
    for (int a = 0; a < 3; ++a) idx = idx * (2 * p.ks[a] - 1) + kj[a] - qi[a] + p.ks[a] - 1;
    return idx;
}

template <typename T>
__device__ __forceinline__ float to_float(T x);
template <>
__device__ __forceinline__ float to_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ float to_float<__half>(__half x) { return __half2float(x); }
template <>
__device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// Two floats packed into one 32-bit register of two 16-bit values (low = a).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float a, float b) {
    if constexpr (sizeof(T) == 2 && __is_same(T, __half)) {
        __half2 v = __floats2half2_rn(a, b);
        return *reinterpret_cast<uint32_t*>(&v);
    } else {
        __nv_bfloat162 v = __floats2bfloat162_rn(a, b);
        return *reinterpret_cast<uint32_t*>(&v);
    }
}

// The two floats of a pack2 register (x = low).
template <typename T>
__device__ __forceinline__ float2 unpack2(uint32_t v) {
    if constexpr (__is_same(T, __half)) {
        return __half22float2(*reinterpret_cast<__half2*>(&v));
    } else {
        return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&v));
    }
}

__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// The n lowest bits set (0 <= n <= 64).
__device__ __forceinline__ uint64_t low_bits(int n) { return n >= 64 ? ~0ull : (1ull << n) - 1; }

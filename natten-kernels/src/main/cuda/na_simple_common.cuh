// What the scalar kernels (fwd_simple and the scalar backward) share: one warp per row, lanes
// splitting the head dim (D <= 256: PER_LANE elements each).
#pragma once
#include "na_common.cuh"

namespace na_simple {
constexpr int PER_LANE = 8;  // 256 / 32

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
    return x;
}

template <typename T>
__device__ __forceinline__ void load_row(const T* row, int D, int lane, float* x) {
#pragma unroll
    for (int e = 0; e < PER_LANE; ++e) {
        int c = e * 32 + lane;
        x[e] = c < D ? to_float(row[c]) : 0.f;
    }
}

template <typename T>
__device__ __forceinline__ float dot_row(const float* x, const T* row, int D, int lane) {
    float acc = 0.f;
#pragma unroll
    for (int e = 0; e < PER_LANE; ++e) {
        int c = e * 32 + lane;
        if (c < D) acc += x[e] * to_float(row[c]);
    }
    return warp_sum(acc);
}

template <typename T>
__device__ __forceinline__ void store_row(T* row, int D, int lane, const float* x, float scale) {
#pragma unroll
    for (int e = 0; e < PER_LANE; ++e) {
        int c = e * 32 + lane;
        if (c < D) row[c] = from_float<T>(x[e] * scale);
    }
}

// The row of this warp in a one-warp-per-row kernel over B x count tokens x heads rows (head
// fastest): batch b, token t, head h and the flat row index; ok is false past the last row.
struct WarpRow {
    int b, t, h;
    long long row;
    bool ok;
    __device__ __forceinline__ WarpRow(const NaParams& p, int count, int heads) {
        const long long warp = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
        ok = warp < static_cast<long long>(p.B) * count * heads;
        h = static_cast<int>(warp % heads);
        t = static_cast<int>((warp / heads) % count);
        b = static_cast<int>(warp / (static_cast<long long>(heads) * count));
        row = (static_cast<long long>(b) * count + t) * heads + h;
    }
};

// Dilation group g and group coordinates i of token t, and per axis [lo, hi): its window (the keys
// it attends to) or, with INVERSE, its inverse window (the queries whose windows hold it).
template <bool INVERSE>
struct TokenWindow {
    int g[3], i[3], lo[3], hi[3];
    __device__ __forceinline__ TokenWindow(const NaParams& p, int t) {
        int x[3];
        unflatten(t, p.L, x);
#pragma unroll
        for (int a = 0; a < 3; ++a) {
            g[a] = x[a] % p.dil[a];
            i[a] = x[a] / p.dil[a];
            const int lg = group_length(p.L[a], p.dil[a], g[a]);
            side_window<INVERSE>(i[a], lg, p.ks[a], p.str[a], p.causal[a], lo[a], hi[a]);
        }
    }
};

}  // namespace na_simple

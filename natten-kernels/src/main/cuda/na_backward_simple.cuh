// The scalar backward kernels: every dtype, any head dim D <= 256, every option. The delta
// pre-pass is shared with the tensor-core backward. Lanes of a warp split the head dim as in
// fwd_simple; attention weights are recomputed from q, k and the forward's log-sum-exp.
#pragma once
#include "na_simple_common.cuh"

namespace bwd_simple {
// No bias in the logits (the additional tokens').
struct NoBias {};

// dk, dv += the terms of query token qt of every head of kv head hk's group (batch b) for the
// key/value pair k, v (rows in registers). bias(h): the logit's bias for head h, or NoBias.
template <typename T, typename Bias>
__device__ __forceinline__ void add_dkdv_token(const NaParams& p, int b, int N, int qt, int hk, int group,
                                               const float* k, const float* v, float* dk, float* dv, int lane,
                                               Bias bias) {
    using namespace na_simple;
    for (int h = hk * group; h < (hk + 1) * group; ++h) {
        const long long row = (static_cast<long long>(b) * N + qt) * p.H + h;
        const T* qr = static_cast<const T*>(p.q) + row * p.D;
        const T* dor = static_cast<const T*>(p.dout) + row * p.D;
        float pr;
        if constexpr (__is_same(Bias, NoBias)) {
            pr = expf(dot_row(k, qr, p.D, lane) * p.scale - p.lse[row]);
        } else {
            float bh = bias(h);
            pr = expf(dot_row(k, qr, p.D, lane) * p.scale + bh - p.lse[row]);
        }
        float ds = pr * (dot_row(v, dor, p.D, lane) - p.delta[row]);
#pragma unroll
        for (int e = 0; e < PER_LANE; ++e) {
            int c = e * 32 + lane;
            if (c < p.D) {
                dv[e] += pr * to_float(dor[c]);
                dk[e] += ds * to_float(qr[c]);
            }
        }
    }
}
}  // namespace bwd_simple

// delta[b, t, h] = sum_c dout * o, one warp per row.
template <typename T>
__device__ __forceinline__ void bwd_delta(const NaParams& p) {
    using namespace na_simple;
    const long long row = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    const long long rows = static_cast<long long>(p.B) * p.L[0] * p.L[1] * p.L[2] * p.H;
    if (row >= rows) return;
    float o[PER_LANE];
    load_row(static_cast<const T*>(p.o) + row * p.D, p.D, lane, o);
    float d = dot_row(o, static_cast<const T*>(p.dout) + row * p.D, p.D, lane);
    if (lane == 0) p.delta[row] = d;
}

// dq for one (batch, query token, head) per warp; rpb gradients by float32 atomics into p.drpb
// when it is set (the non-deterministic mode).
template <typename T>
__device__ __forceinline__ void bwd_dq_simple(const NaParams& p) {
    using namespace na_simple;
    const int lane = threadIdx.x & 31;
    const int N = p.L[0] * p.L[1] * p.L[2];
    const WarpRow wr(p, N, p.H);
    if (!wr.ok) return;
    const int h = wr.h, t = wr.t, b = wr.b;
    const int hk = h / (p.H / p.Hkv);
    const long long row = wr.row;
    const TokenWindow<false> w(p, t);
    float q[PER_LANE], dout[PER_LANE], dq[PER_LANE] = {};
    load_row(static_cast<const T*>(p.q) + row * p.D, p.D, lane, q);
    load_row(static_cast<const T*>(p.dout) + row * p.D, p.D, lane, dout);
    const float lse = p.lse[row], delta = p.delta[row];
    const T* rpb = static_cast<const T*>(p.rpb);
    float* drpb = static_cast<float*>(p.drpb);
    auto visit = [&](const T* kr, const T* vr, float bias, int rpbIdx) {
        float pr = expf(dot_row(q, kr, p.D, lane) * p.scale + bias - lse);
        float ds = pr * (dot_row(dout, vr, p.D, lane) - delta);
#pragma unroll
        for (int e = 0; e < PER_LANE; ++e) {
            int c = e * 32 + lane;
            if (c < p.D) dq[e] += ds * to_float(kr[c]);
        }
        if (rpbIdx >= 0 && lane == 0) atomicAdd(drpb + rpbIdx, ds);
    };
    int kj[3];
    for (kj[0] = w.lo[0]; kj[0] < w.hi[0]; ++kj[0])
        for (kj[1] = w.lo[1]; kj[1] < w.hi[1]; ++kj[1])
            for (kj[2] = w.lo[2]; kj[2] < w.hi[2]; ++kj[2]) {
                long long off = ((static_cast<long long>(b) * N + token_of(p, kj, w.g)) * p.Hkv + hk) * p.D;
                int idx = rpb ? rpb_index(p, h, w.i, kj) : -1;
                visit(static_cast<const T*>(p.k) + off, static_cast<const T*>(p.v) + off,
                      rpb ? to_float(rpb[idx]) : 0.f, drpb ? idx : -1);
            }
    for (int a = 0; a < p.T; ++a) {
        long long off = ((static_cast<long long>(b) * p.T + a) * p.Hkv + hk) * p.D;
        visit(static_cast<const T*>(p.addk) + off, static_cast<const T*>(p.addv) + off, 0.f, -1);
    }
    store_row(static_cast<T*>(p.dq) + row * p.D, p.D, lane, dq, p.scale);
}

// dk, dv for one (batch, key token, kv head) per warp: the queries of every head of the group
// whose windows contain the key (a box: per axis the inverse window).
template <typename T>
__device__ __forceinline__ void bwd_dkdv_simple(const NaParams& p) {
    using namespace na_simple;
    const int lane = threadIdx.x & 31;
    const int N = p.L[0] * p.L[1] * p.L[2];
    const WarpRow wr(p, N, p.Hkv);
    if (!wr.ok) return;
    const int hk = wr.h, t = wr.t, b = wr.b;
    const long long krow = wr.row;
    const TokenWindow<true> w(p, t);
    float k[PER_LANE], v[PER_LANE], dk[PER_LANE] = {}, dv[PER_LANE] = {};
    load_row(static_cast<const T*>(p.k) + krow * p.D, p.D, lane, k);
    load_row(static_cast<const T*>(p.v) + krow * p.D, p.D, lane, v);
    const T* rpb = static_cast<const T*>(p.rpb);
    const int group = p.H / p.Hkv;
    int qi[3];
    for (qi[0] = w.lo[0]; qi[0] < w.hi[0]; ++qi[0])
        for (qi[1] = w.lo[1]; qi[1] < w.hi[1]; ++qi[1])
            for (qi[2] = w.lo[2]; qi[2] < w.hi[2]; ++qi[2])
                bwd_simple::add_dkdv_token<T>(p, b, N, token_of(p, qi, w.g), hk, group, k, v, dk, dv, lane,
                                              [&](int h) { return rpb ? to_float(rpb[rpb_index(p, h, qi, w.i)]) : 0.f; });
    store_row(static_cast<T*>(p.dk) + krow * p.D, p.D, lane, dk, p.scale);
    store_row(static_cast<T*>(p.dv) + krow * p.D, p.D, lane, dv, 1.f);
}

// Gradients of the additional keys/values: one warp per (batch, token, kv head) over every query
// of the group's heads, in a fixed order.
template <typename T>
__device__ __forceinline__ void bwd_dadd_simple(const NaParams& p) {
    using namespace na_simple;
    const int lane = threadIdx.x & 31;
    const int N = p.L[0] * p.L[1] * p.L[2];
    const WarpRow wr(p, p.T, p.Hkv);
    if (!wr.ok) return;
    const int hk = wr.h, b = wr.b;
    const long long arow = wr.row;
    float k[PER_LANE], v[PER_LANE], dk[PER_LANE] = {}, dv[PER_LANE] = {};
    load_row(static_cast<const T*>(p.addk) + arow * p.D, p.D, lane, k);
    load_row(static_cast<const T*>(p.addv) + arow * p.D, p.D, lane, v);
    const int group = p.H / p.Hkv;
    for (int t = 0; t < N; ++t)
        bwd_simple::add_dkdv_token<T>(p, b, N, t, hk, group, k, v, dk, dv, lane, bwd_simple::NoBias{});
    store_row(static_cast<T*>(p.daddk) + arow * p.D, p.D, lane, dk, p.scale);
    store_row(static_cast<T*>(p.daddv) + arow * p.D, p.D, lane, dv, 1.f);
}

// Deterministic rpb gradient: one block of 128 threads per (head, table entry), a fixed-order sum
// over every (batch, query) whose neighbour at that offset exists. Writes p.drpb in the dtype.
template <typename T>
__device__ __forceinline__ void bwd_drpb_ordered(const NaParams& p) {
    __shared__ float partial[128];
    const int N = p.L[0] * p.L[1] * p.L[2];
    const int perHead = (2 * p.ks[0] - 1) * (2 * p.ks[1] - 1) * (2 * p.ks[2] - 1);
    const int h = blockIdx.x / perHead;
    int e = blockIdx.x % perHead, off[3];
    const int span[3] = {2 * p.ks[0] - 1, 2 * p.ks[1] - 1, 2 * p.ks[2] - 1};
    unflatten(e, span, off);
    const int hk = h / (p.H / p.Hkv);
    float sum = 0.f;
    for (long long idx = threadIdx.x; idx < static_cast<long long>(p.B) * N; idx += blockDim.x) {
        const int b = static_cast<int>(idx / N), t = static_cast<int>(idx % N);
        const na_simple::TokenWindow<false> w(p, t);
        int kj[3];
        bool in = true;
#pragma unroll
        for (int a = 0; a < 3; ++a) {
            kj[a] = w.i[a] + off[a] - (p.ks[a] - 1);
            in &= kj[a] >= w.lo[a] && kj[a] < w.hi[a];
        }
        if (!in) continue;
        const long long row = (static_cast<long long>(b) * N + t) * p.H + h;
        const long long krow = (static_cast<long long>(b) * N + token_of(p, kj, w.g)) * p.Hkv + hk;
        const T* qr = static_cast<const T*>(p.q) + row * p.D;
        const T* dor = static_cast<const T*>(p.dout) + row * p.D;
        const T* kr = static_cast<const T*>(p.k) + krow * p.D;
        const T* vr = static_cast<const T*>(p.v) + krow * p.D;
        float s = 0.f, dp = 0.f;
        for (int c = 0; c < p.D; ++c) {
            s += to_float(qr[c]) * to_float(kr[c]);
            dp += to_float(dor[c]) * to_float(vr[c]);
        }
        float bias = to_float(static_cast<const T*>(p.rpb)[rpb_index(p, h, w.i, kj)]);
        float pr = expf(s * p.scale + bias - p.lse[row]);
        sum += pr * (dp - p.delta[row]);
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int stride = 64; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) static_cast<T*>(p.drpb)[blockIdx.x] = from_float<T>(partial[0]);
}

// out[i] = scale * in[i] converted (float32 accumulators to the dtype).
template <typename T>
__device__ __forceinline__ void convert_from_f32(T* out, const float* in, long long n, float scale) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        out[i] = from_float<T>(in[i] * scale);
}

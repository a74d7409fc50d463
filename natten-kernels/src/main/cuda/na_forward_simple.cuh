// The simple forward: one warp per (batch, query token, head), lanes split the head dim, scalar
// online softmax over the neighbour set. Every dtype, any head dim D <= 256. Used for float32 and
// head dims the tensor-core kernel has no instance for; also the independent check of it.
#pragma once
#include "na_simple_common.cuh"

template <typename T>
__device__ __forceinline__ void fwd_simple(const NaParams& p) {
    using namespace na_simple;
    const int lane = threadIdx.x & 31;
    const int N = p.L[0] * p.L[1] * p.L[2];
    const WarpRow wr(p, N, p.H);
    if (!wr.ok) return;
    const int h = wr.h, t = wr.t, b = wr.b;
    const int hk = h / (p.H / p.Hkv);

    const TokenWindow<false> w(p, t);
    const T* qp = static_cast<const T*>(p.q) + ((static_cast<long long>(b) * N + t) * p.H + h) * p.D;
    float qv[PER_LANE], acc[PER_LANE];
#pragma unroll
    for (int e = 0; e < PER_LANE; ++e) {
        int c = e * 32 + lane;
        qv[e] = c < p.D ? to_float(qp[c]) : 0.f;
        acc[e] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    auto visit = [&](const T* kp, const T* vp, float bias) {
        float logit = dot_row(qv, kp, p.D, lane) * p.scale + bias;
        float mn = fmaxf(m, logit);
        float corr = expf(m - mn);
        float w = expf(logit - mn);
        m = mn;
        l = l * corr + w;
#pragma unroll
        for (int e = 0; e < PER_LANE; ++e) {
            int c = e * 32 + lane;
            if (c < p.D) acc[e] = acc[e] * corr + w * to_float(vp[c]);
        }
    };
    const T* kbase = static_cast<const T*>(p.k);
    const T* vbase = static_cast<const T*>(p.v);
    const T* rpb = static_cast<const T*>(p.rpb);
    int kj[3];
    for (kj[0] = w.lo[0]; kj[0] < w.hi[0]; ++kj[0]) {
        for (kj[1] = w.lo[1]; kj[1] < w.hi[1]; ++kj[1]) {
            for (kj[2] = w.lo[2]; kj[2] < w.hi[2]; ++kj[2]) {
                long long off = ((static_cast<long long>(b) * N + token_of(p, kj, w.g)) * p.Hkv + hk) * p.D;
                float bias = rpb ? to_float(rpb[rpb_index(p, h, w.i, kj)]) : 0.f;
                visit(kbase + off, vbase + off, bias);
            }
        }
    }
    for (int a = 0; a < p.T; ++a) {
        long long off = ((static_cast<long long>(b) * p.T + a) * p.Hkv + hk) * p.D;
        visit(static_cast<const T*>(p.addk) + off, static_cast<const T*>(p.addv) + off, 0.f);
    }
    T* op = static_cast<T*>(p.o) + ((static_cast<long long>(b) * N + t) * p.H + h) * p.D;
    store_row(op, p.D, lane, acc, 1.f / l);
    if (lane == 0) p.lse[(static_cast<long long>(b) * N + t) * p.H + h] = m + logf(l);
}

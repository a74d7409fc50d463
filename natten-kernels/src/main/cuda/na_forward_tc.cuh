// The tensor-core forward (fp16/bf16, head dims with an instance): FNA-style.
//
// One CTA computes one query tile: a box of tq[0] x tq[1] x tq[2] = BM queries of one dilation
// group, batch entry and head. It iterates the key/value tiles (boxes of tkv = 64 keys) that cover
// the union of the tile's windows (the "haloed" box, itself a box because window starts and ends
// are monotonic), then the additional key/value tokens in runs of 64. Each of the NW warps owns 16
// query rows: S = Q K^T and O += P V by mma.sync m16n8k16, online softmax in fp32 registers (exp2,
// scale pre-multiplied by log2 e). A key tile inside the intersection of all windows of the query
// tile is processed without any mask; other tiles mask per element from coordinates (row windows
// and tile-local key coordinates sit in shared memory). K/V tiles are double-buffered by cp.async.
#pragma once
#include "na_mma.cuh"

namespace fwd_tc {
constexpr int BN = 64;         // keys per key/value tile
constexpr int ROW_INFO = 9;    // per query row: start[3], end[3], group coords[3]
constexpr float LOG2E = 1.4426950408889634f;

template <typename T, int D, int NW>
struct Config {
    static constexpr int BM = 16 * NW;
    static constexpr int NT = 32 * NW;
    static constexpr int LDS = D + 8;  // padded shared row: ldmatrix rows hit distinct banks
    static constexpr int CPR = D / 8;  // 16-byte chunks per row
    static constexpr int RPP = NT / CPR;  // rows per load pass
    static constexpr int SMEM = (BM * LDS + 4 * BN * LDS) * 2 + (BM * ROW_INFO + BN) * 4;
};
}  // namespace fwd_tc

template <typename T, int D, int NW>
__device__ __forceinline__ void fwd_tc_kernel(const NaParams& p) {
    using C = fwd_tc::Config<T, D, NW>;
    constexpr int BM = C::BM, BN = fwd_tc::BN, LDS = C::LDS, CPR = C::CPR, RPP = C::RPP;
    extern __shared__ __align__(128) unsigned char smem[];
    T* sQ = reinterpret_cast<T*>(smem);
    T* sK = sQ + BM * LDS;      // [2][BN][LDS]
    T* sV = sK + 2 * BN * LDS;  // [2][BN][LDS]
    int* sRow = reinterpret_cast<int*>(sV + 2 * BN * LDS);  // [BM][ROW_INFO]
    int* sKc = sRow + BM * fwd_tc::ROW_INFO;                 // [BN] packed tile-local key coords

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int h = blockIdx.y, b = blockIdx.z, hk = h / (p.H / p.Hkv);
    const int N = p.L[0] * p.L[1] * p.L[2];

    // Which dilation group and which query tile of it.
    const int tilesPerGroup = p.tiles[0] * p.tiles[1] * p.tiles[2];
    int g[3], ti[3];
    unflatten(blockIdx.x / tilesPerGroup, p.dil, g);
    unflatten(blockIdx.x % tilesPerGroup, p.tiles, ti);
    int lg[3], q0[3], q1[3], kvs[3], nkv[3], inS[3], inE[3];
    bool fullQ = true;
#pragma unroll
    for (int a = 0; a < 3; ++a) {
        lg[a] = group_length(p.L[a], p.dil[a], g[a]);
        q0[a] = ti[a] * p.tq[a];
        if (q0[a] >= lg[a]) return;  // a tile past the end of a shorter group: uniform exit
        q1[a] = min(q0[a] + p.tq[a], lg[a]);
        fullQ &= (q1[a] - q0[a] == p.tq[a]);
        int s0, e0, s1, e1;
        axis_window(q0[a], lg[a], p.ks[a], p.str[a], p.causal[a], s0, e0);
        axis_window(q1[a] - 1, lg[a], p.ks[a], p.str[a], p.causal[a], s1, e1);
        kvs[a] = s0;                                   // haloed box [s0, e1)
        nkv[a] = (e1 - s0 + p.tkv[a] - 1) / p.tkv[a];
        inS[a] = s1;                                   // intersection of all windows [s1, e0)
        inE[a] = e0;
    }
    const bool hasRpb = p.rpb != nullptr;

    // Row windows and tile-local key coordinates, for masked tiles.
    for (int r = tid; r < BM; r += C::NT) {
        int rc[3];
        unflatten(r, p.tq, rc);
        int* info = sRow + r * fwd_tc::ROW_INFO;
        bool valid = true;
#pragma unroll
        for (int a = 0; a < 3; ++a) {
            int qi = q0[a] + rc[a];
            valid &= qi < q1[a];
            int s, e;
            axis_window(min(qi, lg[a] - 1), lg[a], p.ks[a], p.str[a], p.causal[a], s, e);
            info[a] = s;
            info[3 + a] = e;
            info[6 + a] = qi;
        }
        if (!valid) info[3] = info[0];  // empty window: the row sees nothing
    }
    for (int c = tid; c < BN; c += C::NT) {
        int kc[3];
        unflatten(c, p.tkv, kc);
        sKc[c] = kc[0] | (kc[1] << 8) | (kc[2] << 16);
    }

    // Query tile -> shared (zero rows past the group's end).
    const T* qg = static_cast<const T*>(p.q);
    const int chunk = tid % CPR;
#pragma unroll
    for (int pass = 0; pass < (BM + RPP - 1) / RPP; ++pass) {
        int r = tid / CPR + pass * RPP;
        if (r < BM) {
            int rc[3], x[3];
            unflatten(r, p.tq, rc);
            bool valid = true;
#pragma unroll
            for (int a = 0; a < 3; ++a) {
                x[a] = q0[a] + rc[a];
                valid &= x[a] < q1[a];
            }
            long long off = valid ? ((static_cast<long long>(b) * N + token_of(p, x, g)) * p.H + h) * D : 0;
            cp_async16(sQ + r * LDS + chunk * 8, qg + off + chunk * 8, valid);
        }
    }
    cp_async_commit();

    const int nNa = nkv[0] * nkv[1] * nkv[2];
    const int nTiles = nNa + (p.T + BN - 1) / BN;
    const T* kg = static_cast<const T*>(p.k);
    const T* vg = static_cast<const T*>(p.v);
    const T* akg = static_cast<const T*>(p.addk);
    const T* avg = static_cast<const T*>(p.addv);

    // Origin (group coords) of neighbourhood tile j.
    auto tile_origin = [&](int j, int* kb) {
        int tj[3];
        unflatten(j, nkv, tj);
#pragma unroll
        for (int a = 0; a < 3; ++a) kb[a] = kvs[a] + tj[a] * p.tkv[a];
    };
    auto load_kv = [&](int j, int stage) {
        T* dk = sK + stage * BN * LDS;
        T* dv = sV + stage * BN * LDS;
        int kb[3];
        if (j < nNa) tile_origin(j, kb);
#pragma unroll
        for (int pass = 0; pass < (BN + RPP - 1) / RPP; ++pass) {
            int c = tid / CPR + pass * RPP;
            if (c < BN) {
                long long off = 0;
                bool valid;
                const T *ks, *vs;
                if (j < nNa) {
                    int kc[3], x[3];
                    unflatten(c, p.tkv, kc);
                    valid = true;
#pragma unroll
                    for (int a = 0; a < 3; ++a) {
                        x[a] = kb[a] + kc[a];
                        valid &= x[a] < lg[a];
                    }
                    if (valid) off = ((static_cast<long long>(b) * N + token_of(p, x, g)) * p.Hkv + hk) * D;
                    ks = kg;
                    vs = vg;
                } else {
                    int t = (j - nNa) * BN + c;
                    valid = t < p.T;
                    if (valid) off = ((static_cast<long long>(b) * p.T + t) * p.Hkv + hk) * D;
                    ks = valid ? akg : kg;
                    vs = valid ? avg : vg;
                }
                cp_async16(dk + c * LDS + chunk * 8, ks + off + chunk * 8, valid);
                cp_async16(dv + c * LDS + chunk * 8, vs + off + chunk * 8, valid);
            }
        }
    };

    load_kv(0, 0);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();

    // Q fragments stay in registers for the whole tile loop.
    uint32_t qf[D / 16][4];
    const int wrow = warp * 16;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
        ldsm_x4(qf[kk], sQ + (wrow + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + kk * 16 + (lane >> 4) * 8);

    float o[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    const float sl2 = p.scale_log2;

    for (int j = 0; j < nTiles; ++j) {
        if (j + 1 < nTiles) {
            load_kv(j + 1, (j + 1) & 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const T* ks = sK + (j & 1) * BN * LDS;
        const T* vs = sV + (j & 1) * BN * LDS;

        float s[BN / 8][4];
#pragma unroll
        for (int i = 0; i < BN / 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
            for (int nb = 0; nb < BN / 16; ++nb) {
                uint32_t bk[4];
                ldsm_x4(bk, ks + (nb * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + kk * 16 + ((lane >> 3) & 1) * 8);
                mma16816<T>(s[2 * nb], qf[kk], bk);
                mma16816<T>(s[2 * nb + 1], qf[kk], bk + 2);
            }
        }

        // Logits in the log2 domain; mask unless the tile is inside every window of the query tile.
        bool unmasked;
        int kb[3];
        if (j < nNa) {
            tile_origin(j, kb);
            unmasked = fullQ && !hasRpb;
#pragma unroll
            for (int a = 0; a < 3; ++a) unmasked &= kb[a] >= inS[a] && kb[a] + p.tkv[a] <= inE[a];
        } else {
            unmasked = (j - nNa + 1) * BN <= p.T;
        }
        if (unmasked) {
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) {
                s[i][0] *= sl2; s[i][1] *= sl2; s[i][2] *= sl2; s[i][3] *= sl2;
            }
        } else if (j < nNa) {
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                const int* info = sRow + (wrow + (lane >> 2) + half * 8) * fwd_tc::ROW_INFO;
                int ws[3], we[3], qi[3];
#pragma unroll
                for (int a = 0; a < 3; ++a) {
                    ws[a] = info[a]; we[a] = info[3 + a]; qi[a] = info[6 + a];
                }
#pragma unroll
                for (int i = 0; i < BN / 8; ++i) {
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        int pk = sKc[i * 8 + (lane & 3) * 2 + e];
                        int kj[3] = {kb[0] + (pk & 255), kb[1] + ((pk >> 8) & 255), kb[2] + (pk >> 16)};
                        bool keep = true;
#pragma unroll
                        for (int a = 0; a < 3; ++a) keep &= kj[a] >= ws[a] && kj[a] < we[a];
                        float& x = s[i][half * 2 + e];
                        if (keep) {
                            x *= sl2;
                            if (hasRpb)
                                x += fwd_tc::LOG2E * to_float(static_cast<const T*>(p.rpb)[rpb_index(p, h, qi, kj)]);
                        } else {
                            x = -INFINITY;
                        }
                    }
                }
            }
        } else {
            const int left = p.T - (j - nNa) * BN;
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    bool keep = i * 8 + (lane & 3) * 2 + (e & 1) < left;
                    s[i][e] = keep ? s[i][e] * sl2 : -INFINITY;
                }
            }
        }

        // Online softmax (rows lane/4 and lane/4 + 8 of the warp's 16).
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            float mx = m[half];
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) mx = fmaxf(mx, fmaxf(s[i][2 * half], s[i][2 * half + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float mu = mx == -INFINITY ? 0.f : mx;
            const float corr = fast_exp2(m[half] - mu);
            m[half] = mx;
            float rs = 0.f;
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) {
                s[i][2 * half] = fast_exp2(s[i][2 * half] - mu);
                s[i][2 * half + 1] = fast_exp2(s[i][2 * half + 1] - mu);
                rs += s[i][2 * half] + s[i][2 * half + 1];
            }
            l[half] = l[half] * corr + rs;
#pragma unroll
            for (int i = 0; i < D / 8; ++i) {
                o[i][2 * half] *= corr;
                o[i][2 * half + 1] *= corr;
            }
        }

        // O += P V: the S accumulator layout of two adjacent n-blocks is the A layout of one k16.
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
            uint32_t pa[4] = {pack2<T>(s[2 * kk][0], s[2 * kk][1]), pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                              pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int db = 0; db < D / 16; ++db) {
                uint32_t bv[4];
                ldsm_x4_t(bv, vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + db * 16 + (lane >> 4) * 8);
                mma16816<T>(o[2 * db], pa, bv);
                mma16816<T>(o[2 * db + 1], pa, bv + 2);
            }
        }
        __syncthreads();
    }

    // Epilogue: normalize, write O and the natural-log LSE of valid rows.
    T* og = static_cast<T*>(p.o);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float lt = l[half];
        lt += __shfl_xor_sync(0xffffffffu, lt, 1);
        lt += __shfl_xor_sync(0xffffffffu, lt, 2);
        const int r = wrow + (lane >> 2) + half * 8;
        int rc[3], x[3];
        unflatten(r, p.tq, rc);
        bool valid = true;
#pragma unroll
        for (int a = 0; a < 3; ++a) {
            x[a] = q0[a] + rc[a];
            valid &= x[a] < q1[a];
        }
        if (!valid) continue;
        const long long row = (static_cast<long long>(b) * N + token_of(p, x, g)) * p.H + h;
        const float inv = 1.f / lt;
        T* orow = og + row * D + (lane & 3) * 2;
#pragma unroll
        for (int i = 0; i < D / 8; ++i)
            *reinterpret_cast<uint32_t*>(orow + i * 8) = pack2<T>(o[i][2 * half] * inv, o[i][2 * half + 1] * inv);
        if ((lane & 3) == 0) p.lse[row] = (m[half] + __log2f(lt)) * 0.6931471805599453f;
    }
}

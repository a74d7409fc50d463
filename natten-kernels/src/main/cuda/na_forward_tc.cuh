// The tensor-core forward (every dtype, head dims with an instance): FNA-style.
//
// One CTA computes one query tile: a box of tq[0] x tq[1] x tq[2] = BM queries of one dilation
// group, batch entry and head. It iterates the key/value tiles (boxes of tkv = 64 keys) that cover
// the union of the tile's windows (the "haloed" box, itself a box because window starts and ends
// are monotonic), then the additional key/value tokens in runs of 64. Each of the NW warps owns 16
// query rows: S = Q K^T and O += P V by mma.sync (MmaOps: m16n8k16 for fp16/bf16, 3xTF32 for
// float32), online softmax in fp32 registers (exp2, scale pre-multiplied by log2 e). A key tile
// inside the intersection of all windows of the query tile is processed without any mask; other
// tiles mask per element from coordinates (row windows and tile-local key coordinates sit in shared
// memory). K/V tiles are double-buffered by cp.async.
#pragma once
#include "na_tiles.cuh"

namespace fwd_tc {
constexpr int BN = 64;         // keys per key/value tile
constexpr int ROW_INFO = 10;   // per query row: start[3], end[3], group coords[3], token (-1: none)

// NW warps of MT m16 row blocks each: BM = 16 * MT * NW queries per tile; KV_STAGES K/V tiles in
// shared memory (2: the next loads while this one is used; 1: more CTAs per SM).
template <typename T, int D, int NW, int MT, int KV_STAGES>
struct Config {
    static constexpr int BM = 16 * MT * NW;
    static constexpr int NT = 32 * NW;
    static constexpr int LDS = lds<T, D>;
    // Java mirrors this in TensorCoreKernel.sharedBytes.
    static constexpr int SMEM = (BM * LDS + 2 * KV_STAGES * BN * LDS) * sizeof(T) + (BM * ROW_INFO + 2 * BN) * 4;
};
}  // namespace fwd_tc


namespace fwd_tc {
// The query tile of this CTA (blockIdx.x: dilation group, then tile within it): the box of p.tq
// queries of group g from q0, clipped at q1 (the group's lengths lg); the haloed box of key/value
// tiles it walks (nkv tiles of p.tkv per axis from kvs), itself a box because window starts and
// ends are monotonic; and the intersection [inS, inE) of all its rows' windows.
struct QueryTile {
    int g[3], lg[3], q0[3], q1[3], kvs[3], nkv[3], inS[3], inE[3];
    bool full;  // no row clipped

    // False for a tile past the end of a shorter group (a uniform exit: nothing to do).
    __device__ __forceinline__ bool init(const NaParams& p) {
        const int tilesPerGroup = p.tiles[0] * p.tiles[1] * p.tiles[2];
        int ti[3];
        unflatten(blockIdx.x / tilesPerGroup, p.dil, g);
        unflatten(blockIdx.x % tilesPerGroup, p.tiles, ti);
        full = true;
#pragma unroll
        for (int a = 0; a < 3; ++a) {
            lg[a] = group_length(p.L[a], p.dil[a], g[a]);
            q0[a] = ti[a] * p.tq[a];
            if (q0[a] >= lg[a]) return false;
            q1[a] = min(q0[a] + p.tq[a], lg[a]);
            full &= (q1[a] - q0[a] == p.tq[a]);
            int s0, e0, s1, e1;
            axis_window(q0[a], lg[a], p.ks[a], p.str[a], p.causal[a], s0, e0);
            axis_window(q1[a] - 1, lg[a], p.ks[a], p.str[a], p.causal[a], s1, e1);
            kvs[a] = s0;  // haloed box [s0, e1)
            nkv[a] = (e1 - s0 + p.tkv[a] - 1) / p.tkv[a];
            inS[a] = s1;  // intersection of all windows [s1, e0)
            inE[a] = e0;
        }
        return true;
    }

    // Key/value tiles walked: the haloed box, then the additional tokens in runs of BN.
    __device__ __forceinline__ int nNa() const { return nkv[0] * nkv[1] * nkv[2]; }
    __device__ __forceinline__ int count(const NaParams& p) const { return nNa() + (p.T + BN - 1) / BN; }
};

// The row table of the query tile, ROW_INFO ints per row: window [start, end) per axis, group
// coordinates, token (-1 and an empty window for rows past the tile's clipped box).
template <int BM, int NT>
__device__ __forceinline__ void fill_query_rows(int* sRow, const NaParams& p, const QueryTile& t, int tid) {
    for (int r = tid; r < BM; r += NT) {
        int rc[3];
        unflatten(r, p.tq, rc);
        int* info = sRow + r * ROW_INFO;
        bool valid = true;
#pragma unroll
        for (int a = 0; a < 3; ++a) {
            int qi = t.q0[a] + rc[a];
            valid &= qi < t.q1[a];
            int s, e;
            axis_window(min(qi, t.lg[a] - 1), t.lg[a], p.ks[a], p.str[a], p.causal[a], s, e);
            info[a] = s;
            info[3 + a] = e;
            info[6 + a] = qi;
        }
        info[9] = valid ? token_of(p, info + 6, t.g) : -1;
        if (!valid) info[3] = info[0];  // empty window: the row sees nothing
    }
}

// Key/value tile j of a query tile: its origin kb (tiles of the haloed box) and whether no logit
// of it needs a mask (inside every row's window, no rpb; additional tokens: a whole run).
struct KeyTile {
    int kb[3];
    bool unmasked;
    __device__ __forceinline__ KeyTile(int j, const QueryTile& t, const TileGrid& grid, const NaParams& p,
                                       bool hasRpb) {
        if (j < t.nNa()) {
            tile_origin(j, grid, t.kvs, p.tkv, kb);
            unmasked = t.full && !hasRpb;
#pragma unroll
            for (int a = 0; a < 3; ++a) unmasked &= kb[a] >= t.inS[a] && kb[a] + p.tkv[a] <= t.inE[a];
        } else {
            unmasked = (j - t.nNa() + 1) * BN <= p.T;
        }
    }
};

// The online softmax of one m16 row block (rows r0 .. r0 + 15 of the query tile) over key tile j,
// in the mma.sync accumulator layout (wgmma's per warp too): the logits s are scaled to the log2
// domain and masked, turned into unnormalized probabilities, and the running maxima m, sums l and
// output o (D / 8 blocks) of the lane's two rows (lane / 4 and lane / 4 + 8) updated.
template <typename T, int D>
struct RowSoftmax {
    const NaParams& p;
    const int nNa;  // key tiles of the haloed box (QueryTile::nNa); then additional tokens
    const int* sRow;
    const int* sKc;
    int span[3];
    uint64_t comb[3];
    int h, lane;
    bool hasRpb;

    __device__ __forceinline__ RowSoftmax(const NaParams& p, const QueryTile& t, const int* sRow, const int* sKc,
                                          int h, int lane)
        : p(p), nNa(t.nNa()), sRow(sRow), sKc(sKc), h(h), lane(lane), hasRpb(p.rpb != nullptr) {
        box_mask_setup(p.tkv, span, comb);
    }

    __device__ __forceinline__ void operator()(float (*s)[4], float (*o)[4], float* m, float* l, int r0, int j,
                                               const KeyTile& kt) const {
        const float sl2 = p.scale_log2;
        if (kt.unmasked) {
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) {
                s[i][0] *= sl2; s[i][1] *= sl2; s[i][2] *= sl2; s[i][3] *= sl2;
            }
        } else if (j < nNa) {
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                const int* info = sRow + (r0 + (lane >> 2) + half * 8) * ROW_INFO;
                // Bit c of `keep`: tile-local key c lies in this row's window.
                uint64_t keep = box_mask(info, kt.kb, p.tkv, span, comb);
                keep >>= (lane & 3) * 2;
                if (hasRpb) {
                    const int qi[3] = {info[6], info[7], info[8]};
                    apply_mask_rpb<T, false>(s, half, keep, sl2, p, h, qi, kt.kb, sKc, lane);
                } else {
                    apply_mask(s, half, keep, sl2);
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
            if (__any_sync(0xffffffffu, corr != 1.f)) {  // the row maxima moved: rescale O
#pragma unroll
                for (int i = 0; i < D / 8; ++i) {
                    o[i][2 * half] *= corr;
                    o[i][2 * half + 1] *= corr;
                }
            }
        }
    }
};

// Epilogue of one m16 row block (rows r0 ..): O normalized by the row sums, and the natural-log
// LSE, written for the rows inside the clipped box.
template <typename T, int D>
__device__ __forceinline__ void store_rows(const NaParams& p, const QueryTile& t, const float (*o)[4], const float* m,
                                           const float* l, int r0, int lane) {
    const int h = blockIdx.y, b = blockIdx.z;
    const int N = p.L[0] * p.L[1] * p.L[2];
    T* og = static_cast<T*>(p.o);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float lt = l[half];
        lt += __shfl_xor_sync(0xffffffffu, lt, 1);
        lt += __shfl_xor_sync(0xffffffffu, lt, 2);
        const int r = r0 + (lane >> 2) + half * 8;
        int x[3];
        if (!box_coords(r, p.tq, t.q0, t.q1, x)) continue;
        const long long row = (static_cast<long long>(b) * N + token_of(p, x, t.g)) * p.H + h;
        const float inv = 1.f / lt;
        T* orow = og + row * D + (lane & 3) * 2;
#pragma unroll
        for (int i = 0; i < D / 8; ++i)
            *reinterpret_cast<Pair2<T>*>(orow + i * 8) = pair2<T>(o[i][2 * half] * inv, o[i][2 * half + 1] * inv);
        if ((lane & 3) == 0) p.lse[row] = (m[half] + __log2f(lt)) * 0.6931471805599453f;
    }
}

// This CTA's key/value rows: its key/value head hk (GQA) and the token of its batch entry's first
// row (computed once per CTA, outside the tile loops).
struct KeySource {
    int hk;
    long long row0;
    __device__ __forceinline__ explicit KeySource(const NaParams& p)
        : hk(blockIdx.y / (p.H / p.Hkv)), row0(static_cast<long long>(blockIdx.z) * (p.L[0] * p.L[1] * p.L[2])) {}
};

// Loads key/value tile j of query tile t (group g) into dk and dv by cp.async, rows placed by
// Layout, NT threads from thread index T0: keys of the haloed box (tile table sKc/sKoff,
// fill_tile_table), then the additional tokens.
template <typename T, int D, int NT, typename Layout = PaddedRows<T, D>, int T0 = 0>
__device__ __forceinline__ void load_key_tile(const NaParams& p, const QueryTile& t, const TileGrid& grid, int j, T* dk,
                                              T* dv, const int* sKc, const int* sKoff, const KeySource& src) {
    const int b = blockIdx.z, hk = src.hk;
    if (j < t.nNa()) {
        int kb[3];
        tile_origin(j, grid, t.kvs, p.tkv, kb);
        const long long kvRow0 = src.row0;
        const long long tile = ((kvRow0 + token_of(p, kb, t.g)) * p.Hkv + hk) * D;
        load_rows<T, D, BN, NT, Layout, T0>(
            {dk, dv}, {static_cast<const T*>(p.k), static_cast<const T*>(p.v)}, tile, p.Hkv * D,
            [&, bound = packed_bound(t.lg, kb)](int c) { return packed_in(sKc[c], bound); },
            [&](int c) { return sKoff[c]; });
    } else {
        const int t0 = (j - t.nNa()) * BN;  // additional tokens t0 .. t0 + BN - 1
        load_rows<T, D, BN, NT, Layout, T0>({dk, dv}, {static_cast<const T*>(p.addk), static_cast<const T*>(p.addv)},
                                            ((static_cast<long long>(b) * p.T + t0) * p.Hkv + hk) * D, p.Hkv * D,
                                            [&](int c) { return t0 + c < p.T; }, [](int c) { return c; });
    }
}

// Loads the query tile's BM rows (zero rows past its clipped box) into padded rows at sQ by
// cp.async, NT threads from thread index T0.
template <typename T, int D, int BM, int NT, int T0 = 0>
__device__ __forceinline__ void load_query_tile(const NaParams& p, T* sQ, const int* sRow) {
    const int h = blockIdx.y, b = blockIdx.z;
    const int N = p.L[0] * p.L[1] * p.L[2];
    auto rowToken = [&](int r) { return sRow[r * ROW_INFO + 9]; };
    load_rows<T, D, BM, NT, PaddedRows<T, D>, T0>({sQ}, {static_cast<const T*>(p.q)},
                                                  static_cast<long long>(b) * N * p.H * D + h * D, p.H * D,
                                                  [&](int r) { return rowToken(r) >= 0; }, rowToken);
}
}  // namespace fwd_tc

template <typename T, int D, int NW, int MT, int KV_STAGES = 2>
__device__ __forceinline__ void fwd_tc_kernel(const NaParams& p) {
    using C = fwd_tc::Config<T, D, NW, MT, KV_STAGES>;
    using M = MmaOps<T>;
    constexpr int BM = C::BM, BN = fwd_tc::BN, LDS = C::LDS;
    constexpr int KS = M::KS;
    extern __shared__ __align__(128) unsigned char smem[];
    T* sQ = reinterpret_cast<T*>(smem);
    T* sK = sQ + BM * LDS;              // [KV_STAGES][BN][LDS]
    T* sV = sK + KV_STAGES * BN * LDS;  // [KV_STAGES][BN][LDS]
    int* sRow = reinterpret_cast<int*>(sV + KV_STAGES * BN * LDS);  // [BM][ROW_INFO]
    int* sKc = sRow + BM * fwd_tc::ROW_INFO;                 // [BN] packed tile-local key coords
    int* sKoff = sKc + BN;                                   // [BN] token offset from the tile origin

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

    fwd_tc::QueryTile t;
    if (!t.init(p)) return;
    fwd_tc::fill_query_rows<BM, C::NT>(sRow, p, t, tid);
    fill_tile_table<BN, C::NT>(sKc, sKoff, p, tid);
    const fwd_tc::RowSoftmax<T, D> softmax(p, t, sRow, sKc, blockIdx.y, lane);

    __syncthreads();  // tables visible to the loads below
    fwd_tc::load_query_tile<T, D, BM, C::NT>(p, sQ, sRow);
    cp_async_commit();

    const TileGrid grid(t.nkv);
    const int nTiles = t.count(p);
    const fwd_tc::KeySource src(p);
    auto load_kv = [&](int j, int stage) {
        fwd_tc::load_key_tile<T, D, C::NT>(p, t, grid, j, sK + stage * BN * LDS, sV + stage * BN * LDS, sKc, sKoff, src);
    };

    load_kv(0, 0);
    cp_async_commit();

    float o[MT][D / 8][4];
    float m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int i = 0; i < D / 8; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.f;
    }
    const int wrow = warp * 16 * MT;  // first query row of this warp

    for (int j = 0; j < nTiles; ++j) {
        const int stage = await_tile<KV_STAGES>(j, nTiles, load_kv);
        const T* ks = sK + stage * BN * LDS;
        const T* vs = sV + stage * BN * LDS;

        float s[MT][BN / 8][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / KS; ++kk) {
            typename M::Frag qf[MT];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) M::load_a(qf[mt], sQ, wrow + mt * 16, kk * KS, LDS, lane);
#pragma unroll
            for (int nb = 0; nb < BN / 16; ++nb) {
                typename M::Frag bk;
                M::load_b(bk, ks, nb * 16, kk * KS, LDS, lane);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    M::mma(s[mt][2 * nb], qf[mt], bk, 0);
                    M::mma(s[mt][2 * nb + 1], qf[mt], bk, 1);
                }
            }
        }

        const fwd_tc::KeyTile kt(j, t, grid, p, softmax.hasRpb);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) softmax(s[mt], o[mt], m[mt], l[mt], wrow + mt * 16, j, kt);

        // O += P V: the S accumulator blocks of one k-step are the A fragment (MmaOps::a_from_acc).
#pragma unroll
        for (int kk = 0; kk < BN / KS; ++kk) {
            typename M::Frag pa[MT];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) M::a_from_acc(pa[mt], s[mt] + kk * (KS / 8));
#pragma unroll
            for (int db = 0; db < D / 16; ++db) {
                typename M::Frag bv;
                M::load_b_kmajor(bv, vs, kk * KS, db * 16, LDS, lane);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    M::mma(o[mt][2 * db], pa[mt], bv, 0);
                    M::mma(o[mt][2 * db + 1], pa[mt], bv, 1);
                }
            }
        }
        __syncthreads();
    }

    // Epilogue: normalize, write O and the natural-log LSE of valid rows.
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) fwd_tc::store_rows<T, D>(p, t, o[mt], m[mt], l[mt], wrow + mt * 16, lane);
}

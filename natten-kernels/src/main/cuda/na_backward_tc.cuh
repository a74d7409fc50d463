// Tensor-core backward (every dtype through MmaOps, head dims with an instance; no additional
// tokens: those take the scalar backward). Two kernels, each recomputing P = exp2(S - LSE) tile by
// tile from Q, K (plus the relative positional bias, RPB instances) and the forward's LSE, never
// storing it:
//   bwd_dq_tc:   one CTA per query box (as the forward): dQ = scale * sum_tiles dS K,
//                dS = P * (dO V^T - delta). RPB with p.drpb set: also d rpb = sum dS per table
//                entry, by float32 atomics (below), or (ORDERED_DRPB, the deterministic mode) in
//                a fixed order into the CTA's slice of a workspace, summed by bwd_drpb_reduce.
//   bwd_dkdv_tc: one CTA per key/value box and kv head, iterating the query boxes of every query
//                head of the group that cover the box's inverse neighbourhood (per axis a range,
//                since window bounds are monotonic): dV = sum P^T dO, dK = scale * sum dS^T Q.
// dQ, dK and dV without atomics: every element is summed by one thread in a fixed order.
#pragma once
#include "na_simple_common.cuh"
#include "na_tiles.cuh"

namespace bwd_tc {
constexpr int BT = 64;  // rows of every tile (4 warps x 16)
constexpr int NT = 128;
// Largest bias table per head (floats) that bwd_dq_tc sums in shared memory before adding it to
// p.drpb; larger tables take global atomics per element. Java mirrors it (BackwardLaunch).
constexpr int RPB_SHARED_FLOATS = 4096;

// acc[16 x 64] (warp rows x tile rows of `b`) = A[warp rows] . B^T over D, both from shared.
template <typename T, int D>
__device__ __forceinline__ void gemm_abt(float (*acc)[4], const T* a, const T* b, int lane) {
    using M = MmaOps<T>;
    constexpr int LDS = lds<T, D>;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / M::KS; ++kk) {
        typename M::Frag af;
        M::load_a(af, a, 0, kk * M::KS, LDS, lane);
#pragma unroll
        for (int nb = 0; nb < 4; ++nb) {
            typename M::Frag bf;
            M::load_b(bf, b, nb * 16, kk * M::KS, LDS, lane);
            M::mma(acc[2 * nb], af, bf, 0);
            M::mma(acc[2 * nb + 1], af, bf, 1);
        }
    }
}

// out[16 x D] += P[16 x 64] (accumulator layout, packed to A fragments) . B[64 x D] from shared.
template <typename T, int D>
__device__ __forceinline__ void gemm_pb(float (*out)[4], float (*pm)[4], const T* b, int lane) {
    using M = MmaOps<T>;
    constexpr int LDS = lds<T, D>;
#pragma unroll
    for (int kk = 0; kk < BT / M::KS; ++kk) {
        typename M::Frag pa;
        M::a_from_acc(pa, pm + kk * (M::KS / 8));
#pragma unroll
        for (int db = 0; db < D / 16; ++db) {
            typename M::Frag bv;
            M::load_b_kmajor(bv, b, kk * M::KS, db * 16, LDS, lane);
            M::mma(out[2 * db], pa, bv, 0);
            M::mma(out[2 * db + 1], pa, bv, 1);
        }
    }
}

// Writes a warp's 16 x D accumulator rows (times scale) to global rows given by row_off(r).
template <typename T, int D, typename Valid, typename Off>
__device__ __forceinline__ void store_acc(T* dst, float (*acc)[4], int wrow, int lane, float scale, Valid valid, Off off) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const int r = wrow + (lane >> 2) + half * 8;
        if (!valid(r)) continue;
        T* row = dst + off(r) + (lane & 3) * 2;
#pragma unroll
        for (int i = 0; i < D / 8; ++i)
            *reinterpret_cast<Pair2<T>*>(row + i * 8) = pair2<T>(acc[i][2 * half] * scale, acc[i][2 * half + 1] * scale);
    }
}

// f(col, v) for each kept element of a row half: its key's group coordinates col (key c at
// tile-local packed[c] of the tile at origin) and its dS v. `keep` pre-shifted as in apply_mask.
template <typename F>
__device__ __forceinline__ void for_each_kept(const float (*ds)[4], int half, uint64_t keep, const int* origin,
                                              const int* packed, int lane, F f) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            if ((keep >> (i * 8 + e)) & 1) {
                int col[3];
                tile_coords(origin, packed[i * 8 + (lane & 3) * 2 + e], col);
                f(col, ds[i][half * 2 + e]);
            }
        }
    }
}

// table[bias entry within a head] += dS of the kept elements of a row half (query group coords row).
__device__ __forceinline__ void add_drpb(float* table, const float (*ds)[4], int half, uint64_t keep, const NaParams& p,
                                         const int* row, const int* origin, const int* packed, int lane) {
    for_each_kept(ds, half, keep, origin, packed, lane,
                  [&](const int* col, float v) { atomicAdd(table + rpb_index(p, 0, row, col), v); });
}

// row[position in the query's window] = dS of the kept elements of a row half (window start ws per
// axis). Every (query, key) pair is visited once, so each slot is written once: plain stores, no
// order to keep.
__device__ __forceinline__ void store_window_ds(float* row, const float (*ds)[4], int half, uint64_t keep,
                                                const NaParams& p, const int* ws, const int* origin,
                                                const int* packed, int lane) {
    for_each_kept(ds, half, keep, origin, packed, lane, [&](const int* col, float v) {
        int w = 0;
#pragma unroll
        for (int a = 0; a < 3; ++a) w = w * p.ks[a] + col[a] - ws[a];
        row[w] = v;
    });
}

// Loads the dq kernels' key tile at origin kb (group g of lengths lg; row0 the batch entry's first
// token) of kv head hk into stage pointers: its K and V rows (placed by Layout) by cp.async, NT
// threads from thread index T0 (tile table sKc/sKoff: fill_tile_table).
template <typename T, int D, int NT, typename Layout = PaddedRows<T, D>, int T0 = 0>
__device__ __forceinline__ void load_key_stage(const NaParams& p, long long row0, const int* kb, int hk, const int* g,
                                               const int* lg, const int* sKc, const int* sKoff, T* k, T* v) {
    const long long tile = ((row0 + token_of(p, kb, g)) * p.Hkv + hk) * D;
    load_rows<T, D, BT, NT, Layout, T0>(
        {k, v}, {static_cast<const T*>(p.k), static_cast<const T*>(p.v)}, tile, p.Hkv * D,
        [&, bound = packed_bound(lg, kb)](int c) { return packed_in(sKc[c], bound); }, [&](int c) { return sKoff[c]; });
}

// The masks of one row half (row r0 + lane / 4 + 8 half of the row table sRow: its window, or
// TRANSPOSED, the dk/dv kernels, its inverse window) against the tile at origin: the logits s in
// the log2 domain, -inf outside (RPB: the bias of head h added; x the row's group coordinates,
// packed the tile's table). Returns the row half's keep mask (apply_mask's).
template <typename T, bool RPB, bool TRANSPOSED>
__device__ __forceinline__ uint64_t mask_row_half(float (*s)[4], int half, const int* sRow, int r0, const int* origin,
                                                  const NaParams& p, const int* span, const uint64_t* comb, int lane,
                                                  int h, const int* x, const int* packed) {
    const uint64_t keep =
        box_mask(sRow + (r0 + (lane >> 2) + half * 8) * ROW_INTS, origin, p.tkv, span, comb) >> ((lane & 3) * 2);
    if constexpr (RPB)
        apply_mask_rpb<T, TRANSPOSED>(s, half, keep, p.scale_log2, p, h, x, origin, packed, lane);
    else
        apply_mask(s, half, keep, p.scale_log2);
    return keep;
}

// What a call of dq_row_half or probs_and_grads does: all of it, or, to overlap the first half with
// the product of dP still running (the warp-specialized kernels), the masks and probabilities
// (PROBS), then the gradients (GRADS: from the probabilities PROBS left).
enum class Part { ALL, PROBS, GRADS };

// dS of one row half (row r0 + lane / 4 + 8 half of the row table sRow: windows) against the key
// tile at origin kb: the logits s masked (RPB: the bias of head h added; qc the row's group
// coordinates), then s = dS = P (dP - delta), P = exp2(S scale log2 e - lse2) (lse2: the row's
// LSE times log2 e). Returns the row half's keep mask (apply_mask's; 0 from GRADS), for the bias
// gradient.
template <typename T, bool RPB, Part PART = Part::ALL>
__device__ __forceinline__ uint64_t dq_row_half(float (*s)[4], const float (*dp)[4], int half, const int* sRow, int r0,
                                                const int* kb, const NaParams& p, const int* span,
                                                const uint64_t* comb, float lse2, float delta, int lane, int h,
                                                const int* qc, const int* sKc) {
    uint64_t keep = 0;
    if constexpr (PART != Part::GRADS)
        keep = mask_row_half<T, RPB, false>(s, half, sRow, r0, kb, p, span, comb, lane, h, qc, sKc);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            float& x = s[i][half * 2 + e];
            if constexpr (PART == Part::ALL) {
                float pr = fast_exp2(x - lse2);
                x = pr * (dp[i][half * 2 + e] - delta);  // dS
            } else if constexpr (PART == Part::PROBS) {
                x = fast_exp2(x - lse2);
            } else {
                x *= dp[i][half * 2 + e] - delta;
            }
        }
    }
    return keep;
}
}  // namespace bwd_tc

// p.tq: the query box; p.tkv: the key box; p.tiles: query boxes per axis. RPB: the bias is added
// to S as in the forward; with p.drpb (a zeroed float32 accumulator, the non-deterministic mode)
// each CTA sums dS per entry of its head's table in shared memory (RPB_SHARED_FLOATS at most, else
// straight into p.drpb) and adds the nonzero entries to p.drpb by atomics.
// ORDERED_DRPB (with RPB; the deterministic mode): no atomics. Each kept element's dS goes to its
// query row's slot for its window position in shared memory ([BT][window], window = ks0 ks1 ks2;
// Java launches it only for BT * window <= RPB_SHARED_FLOATS); at the end each thread sums its
// table entries over the rows in row order and the CTA writes its whole table to its slice of
// p.drpb, a float32 workspace [head][batch][gridDim.x][table] zeroed beforehand (CTAs without
// queries leave theirs), which bwd_drpb_reduce sums over the CTAs in a fixed order.
// KV_STAGES: K/V tiles in shared memory, 2 (the next tile loads while this one is used) or 1 (a
// third less shared memory, for a third CTA per SM at head dim 128).
template <typename T, int D, bool RPB, bool ORDERED_DRPB, int KV_STAGES = 2>
__device__ __forceinline__ void bwd_dq_tc(const NaParams& p) {
    static_assert(RPB || !ORDERED_DRPB, "the ordered bias gradient needs the bias");
    static_assert(KV_STAGES == 1 || KV_STAGES == 2, "one or two K/V stages");
    using namespace bwd_tc;
    constexpr int LDS = lds<T, D>;
    extern __shared__ __align__(128) unsigned char smem[];
    T* sQ = reinterpret_cast<T*>(smem);
    T* sO = sQ + BT * LDS;      // dO
    T* sK = sO + BT * LDS;              // [KV_STAGES][BT][LDS]
    T* sV = sK + KV_STAGES * BT * LDS;  // [KV_STAGES][BT][LDS]
    int* sRow = reinterpret_cast<int*>(sV + KV_STAGES * BT * LDS);  // [BT][ROW_INTS] window, token per query row
    int* sKc = sRow + BT * ROW_INTS;
    int* sKoff = sKc + BT;
    float* sBias = reinterpret_cast<float*>(sKoff + BT);  // RPB with p.drpb: [perHead] if it fits
    float* sDs = sBias;                                      // ORDERED_DRPB: [BT][window]

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int h = blockIdx.y, b = blockIdx.z, hk = h / (p.H / p.Hkv);
    const int N = p.L[0] * p.L[1] * p.L[2];
    int g[3], lg[3], q0[3], q1[3], kvs[3], nkv[3];
    if (!cta_tiles<false>(p, g, lg, q0, q1, kvs, nkv)) return;
    auto qvalid = [&](int r, int* x) { return box_coords(r, p.tq, q0, q1, x); };
    fill_row_windows<false, BT, NT>(sRow, p, q0, q1, lg, g, tid);
    fill_tile_table<BT, NT>(sKc, sKoff, p, tid);
    const int perHead = (2 * p.ks[0] - 1) * (2 * p.ks[1] - 1) * (2 * p.ks[2] - 1);
    const int window = p.ks[0] * p.ks[1] * p.ks[2];
    const bool sumDrpb = RPB && !ORDERED_DRPB && p.drpb != nullptr;
    const bool sharedDrpb = perHead <= RPB_SHARED_FLOATS;
    float* gDrpb = static_cast<float*>(p.drpb) + h * perHead;
    if (sumDrpb && sharedDrpb)
        for (int e = tid; e < perHead; e += NT) sBias[e] = 0.f;
    int span[3];
    uint64_t comb[3];
    box_mask_setup(p.tkv, span, comb);
    __syncthreads();  // the row table visible to the loads below
    auto qrow = [&](int r) { return (static_cast<long long>(b) * N + sRow[r * ROW_INTS + 6]) * p.H + h; };
    auto qok = [&](int r) { return sRow[r * ROW_INTS + 6] >= 0; };
    load_rows<T, D, BT, NT>({sQ, sO}, {static_cast<const T*>(p.q), static_cast<const T*>(p.dout)}, 0, D, qok, qrow);
    cp_async_commit();
    __syncthreads();

    const int nTiles = nkv[0] * nkv[1] * nkv[2];
    const TileGrid grid(nkv);
    auto load_kv = [&](int j, int stage) {
        int kb[3];
        tile_origin(j, grid, kvs, p.tkv, kb);
        load_key_stage<T, D, NT>(p, static_cast<long long>(b) * N, kb, hk, g, lg, sKc, sKoff, sK + stage * BT * LDS,
                                 sV + stage * BT * LDS);
    };
    load_kv(0, 0);
    cp_async_commit();

    const int wrow = warp * 16;
    float lse2[2], delta[2];
    int qc[2][3];  // group coordinates of this thread's two query rows
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const int r = wrow + (lane >> 2) + half * 8;
        const bool ok = qvalid(r, qc[half]);
        const long long row = qrow(r);
        lse2[half] = ok ? p.lse[row] * kLog2e : 0.f;
        delta[half] = ok ? p.delta[row] : 0.f;
    }
    float dq[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) dq[i][0] = dq[i][1] = dq[i][2] = dq[i][3] = 0.f;

    for (int j = 0; j < nTiles; ++j) {
        const int stage = await_tile<KV_STAGES>(j, nTiles, load_kv);
        const T* ks = sK + stage * BT * LDS;
        const T* vs = sV + stage * BT * LDS;
        float s[8][4], dp[8][4];
        gemm_abt<T, D>(s, sQ + wrow * LDS, ks, lane);
        gemm_abt<T, D>(dp, sO + wrow * LDS, vs, lane);
        int kb[3];
        tile_origin(j, grid, kvs, p.tkv, kb);
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const uint64_t keep = dq_row_half<T, RPB>(s, dp, half, sRow, wrow, kb, p, span, comb, lse2[half],
                                                      delta[half], lane, h, qc[half], sKc);
            if constexpr (ORDERED_DRPB) {
                const int r = wrow + (lane >> 2) + half * 8;
                store_window_ds(sDs + r * window, s, half, keep, p, sRow + r * ROW_INTS, kb, sKc, lane);
            } else if (sumDrpb) {
                if (sharedDrpb)
                    add_drpb(sBias, s, half, keep, p, qc[half], kb, sKc, lane);
                else
                    add_drpb(gDrpb, s, half, keep, p, qc[half], kb, sKc, lane);
            }
        }
        gemm_pb<T, D>(dq, s, ks, lane);
        __syncthreads();
    }
    store_acc<T, D>(static_cast<T*>(p.dq), dq, wrow, lane, p.scale, qok, [&](int r) { return qrow(r) * D; });
    if (sumDrpb && sharedDrpb) {  // the loop's last barrier ordered every shared atomic before this
        for (int e = tid; e < perHead; e += NT) {
            const float v = sBias[e];
            if (v != 0.f) atomicAdd(gDrpb + e, v);
        }
    }
    if constexpr (ORDERED_DRPB) {  // the loop's last barrier ordered every window store before this
        // A table has fewer than 2^3 * window <= 8 * RPB_SHARED_FLOATS / BT entries: MAX per thread.
        constexpr int MAX = 8 * (RPB_SHARED_FLOATS / BT) / NT;
        const int span[3] = {2 * p.ks[0] - 1, 2 * p.ks[1] - 1, 2 * p.ks[2] - 1};
        int ent[MAX][3];
        float sum[MAX];
#pragma unroll
        for (int k = 0; k < MAX; ++k) {
            unflatten(min(tid + k * NT, perHead - 1), span, ent[k]);
            sum[k] = 0.f;
        }
        // rows in order (row r at tile coordinates rc); empty windows (rows past the box) add nothing
        int rc[3], r = 0;
        for (rc[0] = 0; rc[0] < p.tq[0]; ++rc[0])
            for (rc[1] = 0; rc[1] < p.tq[1]; ++rc[1])
                for (rc[2] = 0; rc[2] < p.tq[2]; ++rc[2], ++r) {
                    int base[3], len[3];
#pragma unroll
                    for (int a = 0; a < 3; ++a) {  // table coordinate of the window start; window length
                        base[a] = sRow[r * ROW_INTS + a] - (q0[a] + rc[a]) + p.ks[a] - 1;
                        len[a] = sRow[r * ROW_INTS + 3 + a] - sRow[r * ROW_INTS + a];
                    }
#pragma unroll
                    for (int k = 0; k < MAX; ++k) {
                        if (k * NT >= perHead) break;
                        bool in = true;
                        int w = 0;
#pragma unroll
                        for (int a = 0; a < 3; ++a) {
                            const int wa = ent[k][a] - base[a];
                            in &= static_cast<unsigned>(wa) < static_cast<unsigned>(len[a]);
                            w = w * p.ks[a] + wa;
                        }
                        if (in) sum[k] += sDs[r * window + w];
                    }
                }
        float* slice = static_cast<float*>(p.drpb) +
                       ((static_cast<long long>(h) * p.B + b) * gridDim.x + blockIdx.x) * perHead;
#pragma unroll
        for (int k = 0; k < MAX; ++k)
            if (tid + k * NT < perHead) slice[tid + k * NT] = sum[k];
    }
}

// d rpb of the deterministic mode from the slices of bwd_dq_tc<..., ORDERED_DRPB>: one block of 128
// threads per (head, table entry) sums the head's `ctas` slices in a fixed order (each thread a
// strided range in order, warp_sum's fixed butterfly, then the warps in order) into the dtype.
template <typename T>
__device__ __forceinline__ void bwd_drpb_reduce(T* out, const float* slices, int ctas, int perHead) {
    __shared__ float warps[bwd_tc::NT / 32];
    const int h = blockIdx.x / perHead, e = blockIdx.x % perHead;
    const float* src = slices + static_cast<long long>(h) * ctas * perHead + e;
    float sum = 0.f;
    for (int c = threadIdx.x; c < ctas; c += bwd_tc::NT) sum += src[static_cast<long long>(c) * perHead];
    sum = na_simple::warp_sum(sum);
    if ((threadIdx.x & 31) == 0) warps[threadIdx.x >> 5] = sum;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.f;
#pragma unroll
        for (int w = 0; w < bwd_tc::NT / 32; ++w) total += warps[w];
        out[blockIdx.x] = from_float<T>(total);
    }
}

// acc[row] += v for the float32 accumulator rows of a warp's 16 x D dq (mma accumulator layout;
// valid(r) for the warp-local row r, row(r) its first element). sm_90: lanes pair up by a shuffle
// so that each holds four consecutive columns of one row, one vector reduction per four elements;
// earlier GPUs one atomic per element.
template <int D, typename Valid, typename Row>
__device__ __forceinline__ void add_rows_f32(float (*v)[4], int lane, Valid valid, Row row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    const bool odd = lane & 1;
    const int r = (lane >> 2) + (odd ? 8 : 0);
    if (!valid(r)) {  // the partner still needs this lane's half of the exchange
#pragma unroll
        for (int i = 0; i < D / 8; ++i) {
            __shfl_xor_sync(0xffffffffu, odd ? v[i][0] : v[i][2], 1);
            __shfl_xor_sync(0xffffffffu, odd ? v[i][1] : v[i][3], 1);
        }
        return;
    }
    float* dst = row(r) + (lane & 2) * 2;
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
        // even lanes keep row r0's columns c, c+1 and take the partner's c+2, c+3; odd lanes keep
        // row r0 + 8's c+2, c+3 and take the partner's c, c+1
        const float y0 = __shfl_xor_sync(0xffffffffu, odd ? v[i][0] : v[i][2], 1);
        const float y1 = __shfl_xor_sync(0xffffffffu, odd ? v[i][1] : v[i][3], 1);
        const float a0 = odd ? y0 : v[i][0], a1 = odd ? y1 : v[i][1];
        const float a2 = odd ? v[i][2] : y0, a3 = odd ? v[i][3] : y1;
        asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(dst + i * 8), "f"(a0), "f"(a1), "f"(a2),
                     "f"(a3)
                     : "memory");
    }
#else
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const int r = (lane >> 2) + half * 8;
        if (!valid(r)) continue;
        float* dst = row(r) + (lane & 3) * 2;
#pragma unroll
        for (int i = 0; i < D / 8; ++i) {
            atomicAdd(dst + i * 8, v[i][2 * half]);
            atomicAdd(dst + i * 8 + 1, v[i][2 * half + 1]);
        }
    }
#endif
}

namespace bwd_tc {
// Loads the dk/dv kernels' query tile at origin qb (group g of lengths lg; row0 the batch entry's
// first token) of head h into stage pointers: its Q and dO rows (placed by Layout) and its LSE and delta, all by cp.async, NT threads
// from thread index T0 (tile table sQc/sQoff: fill_tile_table).
template <typename T, int D, int NT, typename Layout = PaddedRows<T, D>, int T0 = 0>
__device__ __forceinline__ void load_query_stage(const NaParams& p, long long row0, const int* qb, int h, const int* g,
                                                 const int* lg, const int* sQc, const int* sQoff, T* q, T* dout,
                                                 float* lse, float* delta) {
    const long long base = row0 + token_of(p, qb, g);
    auto ok = [&, bound = packed_bound(lg, qb)](int c) { return packed_in(sQc[c], bound); };
    auto row = [&](int c) { return (base + sQoff[c]) * p.H + h; };
    load_rows<T, D, BT, NT, Layout, T0>({q, dout}, {static_cast<const T*>(p.q), static_cast<const T*>(p.dout)},
                                        (base * p.H + h) * D, p.H * D, ok, [&](int c) { return sQoff[c]; });
    for (int c = static_cast<int>(threadIdx.x) - T0; c < BT; c += NT) {
        bool v = ok(c);
        const long long r = v ? row(c) : 0;  // cp.async with the tiles: no wait for the loads here
        cp_async4(lse + c, p.lse + r, v);
        cp_async4(delta + c, p.delta + r, v);
    }
}

// P^T and dS^T of one m16 block of keys (rows r0 .. r0 + 15 of the row table sRow: inverse
// windows) against the query tile at origin qb: s holds S^T (keys x 64 queries, accumulator
// layout), dp dP^T; masked (RPB: the bias of head h added; kc the keys' group coordinates), then
// s = P^T = exp2(S^T scale log2 e - LSE log2 e) and dp = dS^T = P^T (dP^T - delta) (lse, del: the
// tile's LSE and delta). PART: all of it, or the masks and P^T, then dS^T (Part).
template <typename T, bool RPB, Part PART = Part::ALL>
__device__ __forceinline__ void probs_and_grads(float (*s)[4], float (*dp)[4], const int* sRow, int r0, const int* qb,
                                                const NaParams& p, const int* span, const uint64_t* comb,
                                                const float* lse, const float* del, int lane, int h,
                                                const int (*kc)[3], const int* sQc) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        if constexpr (PART != Part::GRADS)
            mask_row_half<T, RPB, true>(s, half, sRow, r0, qb, p, span, comb, lane, h, RPB ? kc[half] : nullptr, sQc);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int c = i * 8 + (lane & 3) * 2 + e;
                float& pr = s[i][half * 2 + e];
                if constexpr (PART != Part::GRADS) pr = fast_exp2(fmaf(lse[c], -kLog2e, pr));
                if constexpr (PART != Part::PROBS) dp[i][half * 2 + e] = pr * (dp[i][half * 2 + e] - del[c]);  // dS^T
            }
        }
    }
}
}  // namespace bwd_tc

// p.tq: the key box of the CTA; p.tkv: the query box iterated; p.tiles: key boxes per axis.
// FUSED_DQ (the default, non-deterministic mode): also dQ += dS K for every visited query tile,
// by float32 reductions into the accumulator p.dq (float*, zeroed; scaled and converted afterwards).
// dS^T goes through shared memory: its own tile, or at head dim 128 the tile's dO stage once dV is
// done with it (a separate tile would leave one CTA per SM; the price is one more barrier).
// RPB: the bias is added to S^T as in the forward (never with FUSED_DQ: bwd_dq_tc sums d rpb).
template <typename T, int D, bool FUSED_DQ, bool RPB>
__device__ __forceinline__ void bwd_dkdv_tc(const NaParams& p) {
    using namespace bwd_tc;
    static_assert(!(FUSED_DQ && RPB), "with rpb, dq and its bias gradient take bwd_dq_tc");
    constexpr int LDS = lds<T, D>;
    extern __shared__ __align__(128) unsigned char smem[];
    T* sK = reinterpret_cast<T*>(smem);
    T* sV = sK + BT * LDS;
    T* sQ = sV + BT * LDS;      // [2][BT][LDS]
    T* sO = sQ + 2 * BT * LDS;  // [2][BT][LDS] dO
    float* sLse = reinterpret_cast<float*>(sO + 2 * BT * LDS);  // [2][BT], natural log
    float* sDelta = sLse + 2 * BT;                               // [2][BT]
    int* sRow = reinterpret_cast<int*>(sDelta + 2 * BT);         // [BT][ROW_INTS] inverse window, token per key
    int* sQc = sRow + BT * ROW_INTS;
    int* sQoff = sQc + BT;
    constexpr bool DS_IN_DO = D >= 128;
    T* sDS = reinterpret_cast<T*>(sQoff + BT);  // [BT keys][lds<T, BT>] dS^T, FUSED_DQ && !DS_IN_DO
    constexpr int LDS_DS = lds<T, BT>;
    static_assert(!DS_IN_DO || LDS_DS <= LDS, "dS^T fits a dO stage");

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int hk = blockIdx.y, b = blockIdx.z, group = p.H / p.Hkv;
    const int N = p.L[0] * p.L[1] * p.L[2];
    int g[3], lg[3], k0[3], k1[3], qs[3], nq[3];
    if (!cta_tiles<true>(p, g, lg, k0, k1, qs, nq)) return;
    auto kvalid = [&](int r, int* x) { return box_coords(r, p.tq, k0, k1, x); };
    fill_row_windows<true, BT, NT>(sRow, p, k0, k1, lg, g, tid);
    __syncthreads();  // the row table visible to the loads below
    auto kok = [&](int r) { return sRow[r * ROW_INTS + 6] >= 0; };
    auto krow = [&](int r) { return (static_cast<long long>(b) * N + sRow[r * ROW_INTS + 6]) * p.Hkv + hk; };
    fill_tile_table<BT, NT>(sQc, sQoff, p, tid);
    int span[3];
    uint64_t comb[3];
    box_mask_setup(p.tkv, span, comb);
    load_rows<T, D, BT, NT>({sK, sV}, {static_cast<const T*>(p.k), static_cast<const T*>(p.v)}, 0, D, kok, krow);
    cp_async_commit();
    __syncthreads();

    const int nQ = nq[0] * nq[1] * nq[2];
    const int nTiles = nQ * group;
    const TileGrid grid(nq);
    const FastDiv perHead(nQ);  // tile j: query tile j % nQ of head hk * group + j / nQ
    auto load_q = [&](int j, int stage) {
        int qb[3];
        int jq;
        const int hj = perHead.div(j, jq);
        tile_origin(jq, grid, qs, p.tkv, qb);
        load_query_stage<T, D, NT>(p, static_cast<long long>(b) * N, qb, hk * group + hj, g, lg, sQc, sQoff, sQ + stage * BT * LDS, sO + stage * BT * LDS,
                                   sLse + stage * BT, sDelta + stage * BT);
    };
    load_q(0, 0);
    cp_async_commit();

    const int wrow = warp * 16;
    int kc[2][3];  // group coordinates of this thread's two key rows
#pragma unroll
    for (int half = 0; half < 2; ++half) kvalid(wrow + (lane >> 2) + half * 8, kc[half]);
    float dk[D / 8][4], dv[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
        dk[i][0] = dk[i][1] = dk[i][2] = dk[i][3] = 0.f;
        dv[i][0] = dv[i][1] = dv[i][2] = dv[i][3] = 0.f;
    }
    for (int j = 0; j < nTiles; ++j) {
        const int stage = await_tile<2>(j, nTiles, load_q);
        const T* qsm = sQ + stage * BT * LDS;
        const T* osm = sO + stage * BT * LDS;
        const float* lse = sLse + stage * BT;
        const float* del = sDelta + stage * BT;
        float s[8][4], dp[8][4];
        gemm_abt<T, D>(s, sK + wrow * LDS, qsm, lane);  // S^T: keys x queries
        gemm_abt<T, D>(dp, sV + wrow * LDS, osm, lane);  // dP^T
        int qb[3];
        int jq;
        const int hj = perHead.div(j, jq);
        tile_origin(jq, grid, qs, p.tkv, qb);
        probs_and_grads<T, RPB>(s, dp, sRow, wrow, qb, p, span, comb, lse, del, lane, hk * group + hj, kc,
                                sQc);
        T* const ds = DS_IN_DO ? sO + stage * BT * LDS : sDS;  // dS^T tile (FUSED_DQ)
        auto store_ds = [&] {
#pragma unroll
            for (int half = 0; half < 2; ++half)
#pragma unroll
                for (int i = 0; i < 8; ++i)
                    *reinterpret_cast<Pair2<T>*>(ds + (wrow + (lane >> 2) + half * 8) * LDS_DS + i * 8 + (lane & 3) * 2) =
                        pair2<T>(dp[i][2 * half], dp[i][2 * half + 1]);
        };
        if constexpr (FUSED_DQ && !DS_IN_DO) store_ds();
        gemm_pb<T, D>(dv, s, osm, lane);
        gemm_pb<T, D>(dk, dp, qsm, lane);
        if constexpr (FUSED_DQ) {
            if constexpr (DS_IN_DO) {
                __syncthreads();  // every warp is done with the dO stage
                store_ds();
            }
            __syncthreads();  // dS^T of every warp in shared
            // This warp's 16 queries: dQ[16 x D] = dS[16 x 64 keys] K[64 x D]; A from dS^T and
            // B = K, both stored k-major.
            using M = MmaOps<T>;
            float dq[D / 8][4];
#pragma unroll
            for (int i = 0; i < D / 8; ++i) dq[i][0] = dq[i][1] = dq[i][2] = dq[i][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < BT / M::KS; ++kk) {
                typename M::Frag af;
                M::load_a_kmajor(af, ds, kk * M::KS, wrow, LDS_DS, lane);
#pragma unroll
                for (int db = 0; db < D / 16; ++db) {
                    typename M::Frag bf;
                    M::load_b_kmajor(bf, sK, kk * M::KS, db * 16, LDS, lane);
                    M::mma(dq[2 * db], af, bf, 0);
                    M::mma(dq[2 * db + 1], af, bf, 1);
                }
            }
            int qb[3];
            tile_origin(jq, grid, qs, p.tkv, qb);
            const int h = hk * group + hj;
            const long long base = static_cast<long long>(b) * N + token_of(p, qb, g);
            float* acc = static_cast<float*>(p.dq);
            add_rows_f32<D>(
                dq, lane, [&, bound = packed_bound(lg, qb)](int r) { return packed_in(sQc[wrow + r], bound); },
                [&](int r) { return acc + ((base + sQoff[wrow + r]) * p.H + h) * D; });
        }
        __syncthreads();
    }
    store_acc<T, D>(static_cast<T*>(p.dk), dk, wrow, lane, p.scale, kok, [&](int r) { return krow(r) * D; });
    store_acc<T, D>(static_cast<T*>(p.dv), dv, wrow, lane, 1.f, kok, [&](int r) { return krow(r) * D; });
}

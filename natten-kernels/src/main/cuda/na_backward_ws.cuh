// The warp-specialized Hopper backward kernels (sm_90a; fp16/bf16, head dim 128, no rpb): the
// tiles, masks and gradients of bwd_dq_tc and bwd_dkdv_tc, fed the way FlashAttention-3 feeds
// Hopper's tensor cores (na_forward_ws.cuh does the same for the forward). Both run a CTA of a
// producer and CW consumer warpgroups (wg::Team): the producer copies the tiles walked (cp.async,
// 128-byte swizzle) into one of STAGES stages once the consumers have released it ("empty"
// mbarriers) and marks it loaded ("full": completes when the copies of all 128 producer threads
// have landed); the consumers, 64 rows each of the CTA's box of BK = 64 CW, run on wgmma.
//
// bwd_dq_ws: a box of BK queries (p.tq) walks the 64-key tiles (p.tkv) of its windows. Each
// consumer keeps its rows' Q in registers and dO in shared memory: S = Q K^T and dP = dO V^T by
// wgmma, dS as in bwd_dq_tc (dq_row_half), dQ += dS K by wgmma with dS from registers.
//
// bwd_dkdv_ws: a CTA owns a box of BK keys of one kv head (p.tq) and walks the 64-query tiles
// (p.tkv) of its inverse windows for every query head of the group; the producer copies each query
// tile's Q and dO rows and LSE and delta.
// Each consumer keeps its keys' K and V in shared memory and its
// dK and dV in registers: S^T = K Q^T and dP^T = V dO^T by wgmma with both operands in shared
// memory, P^T and dS^T as in bwd_dkdv_tc (probs_and_grads), then dV += P^T dO and dK += dS^T Q by
// wgmma with P^T and dS^T from registers.
#pragma once
#include "na_backward_tc.cuh"
#include "na_wgmma.cuh"

namespace bwd_ws {
constexpr int BQ = bwd_tc::BT;  // keys (dq) or queries (dk/dv) per tile walked

// Rows of the CTA's box, stages (of either kernel: three at one CTA per SM, two at two).
template <int CW>
struct Shape {
    static constexpr int BK = wg::Team<CW>::ROWS;
    static constexpr int STAGES = CW == 2 ? 3 : 2;
};

// bwd_dq_ws: 1 KiB of alignment slack, the K and V stages, Q (padded rows, for ldmatrix) and dO
// (swizzled) of the query box, its row table, the key tile's table, the mbarriers. Java mirrors
// it (BackwardLaunch).
template <typename T, int D, int CW>
struct DqConfig : Shape<CW> {
    using Shape<CW>::BK;
    using Shape<CW>::STAGES;
    static_assert(D == 128, "head dim 128");
    static constexpr int KVTILE = BQ * D;    // elements of one swizzled K or V stage (64 keys)
    static constexpr int LDQ = lds<T, D>;
    static constexpr int SMEM = 1024 + (2 * STAGES * KVTILE + BK * D + BK * LDQ) * sizeof(T) + BK * ROW_INTS * 4 +
                                2 * BQ * 4 + 2 * STAGES * 8;
};

template <typename T, int D, int CW>
struct Config : Shape<CW> {
    using Shape<CW>::BK;
    using Shape<CW>::STAGES;
    static_assert(D == 128, "head dim 128");
    static constexpr int KTILE = BK * D;  // elements of the swizzled K or V box
    static constexpr int QTILE = BQ * D;  // elements of one swizzled Q or dO stage
    // Java mirrors this (BackwardLaunch): 1 KiB of alignment slack, K, V, the Q and dO stages,
    // their LSE and delta, the key rows' table, the query tile's table, the 2 * STAGES mbarriers.
    static constexpr int SMEM = 1024 + (2 * KTILE + 2 * STAGES * QTILE) * sizeof(T) + 2 * STAGES * BQ * 4 +
                                BK * ROW_INTS * 4 + 2 * BQ * 4 + 2 * STAGES * 8;
};
}  // namespace bwd_ws

template <typename T, int D, int CW>
__device__ __forceinline__ void bwd_dkdv_ws(const NaParams& p) {
#if NA_HAS_WGMMA
    using namespace bwd_ws;
    using C = Config<T, D, CW>;
    using Team = wg::Team<CW>;
    constexpr int BK = C::BK, STAGES = C::STAGES;
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char* base = smem + ((1024 - (smem_addr(smem) & 1023)) & 1023);  // swizzled tiles: 1 KiB aligned
    T* sK = reinterpret_cast<T*>(base);  // [BK x D swizzled]
    T* sV = sK + C::KTILE;
    T* sQ = sV + C::KTILE;              // [STAGES][BQ x D swizzled]
    T* sO = sQ + STAGES * C::QTILE;     // [STAGES][BQ x D swizzled] dO
    float* sLse = reinterpret_cast<float*>(sO + STAGES * C::QTILE);  // [STAGES][BQ], natural log
    float* sDelta = sLse + STAGES * BQ;                                // [STAGES][BQ]
    int* sRow = reinterpret_cast<int*>(sDelta + STAGES * BQ);          // [BK][ROW_INTS] inverse windows
    int* sQc = sRow + BK * ROW_INTS;
    int* sQoff = sQc + BQ;
    const wg::Pipeline<STAGES, CW> pipe(reinterpret_cast<uint64_t*>(sQoff + BQ));  // [2][STAGES] mbarriers

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int hk = blockIdx.y, b = blockIdx.z, group = p.H / p.Hkv;
    const int N = p.L[0] * p.L[1] * p.L[2];
    int g[3], lg[3], k0[3], k1[3], qs[3], nq[3];
    if (!cta_tiles<true>(p, g, lg, k0, k1, qs, nq)) return;
    fill_row_windows<true, BK, Team::THREADS>(sRow, p, k0, k1, lg, g, tid);
    fill_tile_table<BQ, Team::THREADS>(sQc, sQoff, p, tid);
    pipe.init(tid);
    __syncthreads();  // tables and barriers visible to all

    const int nQ = nq[0] * nq[1] * nq[2];
    const int nTiles = nQ * group;
    const TileGrid grid(nq);
    const FastDiv perHead(nQ);  // tile j: query tile j % nQ of head hk * group + j / nQ
    auto origin = [&](int j, int* qb) {
        int jq;
        const int hj = perHead.div(j, jq);
        tile_origin(jq, grid, qs, p.tkv, qb);
        return hk * group + hj;
    };
    if (warp < 4) {  // the producer
        pipe.produce(nTiles, [&](int j, int stage) {
            int qb[3];
            const int h = origin(j, qb);
            bwd_tc::load_query_stage<T, D, 128, wg::SwizzledRows<BQ>>(
                p, static_cast<long long>(b) * N, qb, h, g, lg, sQc, sQoff, sQ + stage * C::QTILE,
                sO + stage * C::QTILE, sLse + stage * BQ, sDelta + stage * BQ);
        });
        return;
    }

    // The consumers: warp w of 4 .. owns key rows 16 (w - 4) .. of the box.
    wg::claim_registers<Team::CONSUMER_REGS>();
    auto kok = [&](int r) { return sRow[r * ROW_INTS + 6] >= 0; };
    auto krow = [&](int r) { return (static_cast<long long>(b) * N + sRow[r * ROW_INTS + 6]) * p.Hkv + hk; };
    load_rows<T, D, BK, Team::CONSUMER_THREADS, wg::SwizzledRows<BK>, 128>({sK, sV}, {static_cast<const T*>(p.k), static_cast<const T*>(p.v)},
                                                       0, D, kok, krow);
    wg::await_consumer_loads<CW>();  // K and V

    const int wrow = (warp - 4) * 16;
    const uint32_t kaddr = smem_addr(sK) + (wrow & 64) * 128;  // this warpgroup's 64 keys
    const uint32_t vaddr = smem_addr(sV) + (wrow & 64) * 128;
    int span[3];
    uint64_t comb[3];
    box_mask_setup(p.tkv, span, comb);
    float dk[D / 8][4], dv[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
        dk[i][0] = dk[i][1] = dk[i][2] = dk[i][3] = 0.f;
        dv[i][0] = dv[i][1] = dv[i][2] = dv[i][3] = 0.f;
    }
    float* dkf = &dk[0][0];
    float* dvf = &dv[0][0];
    for (int j = 0; j < nTiles; ++j) {
        const int stage = pipe.acquire(j);
        const uint32_t qaddr = smem_addr(sQ + stage * C::QTILE);
        const uint32_t oaddr = smem_addr(sO + stage * C::QTILE);

        int qb[3];
        const int h = origin(j, qb);
        auto step = [&](auto part, float(*s)[4], float(*dp)[4]) {
            bwd_tc::probs_and_grads<T, false, decltype(part)::value>(s, dp, sRow, wrow, qb, p, span, comb,
                                                                     sLse + stage * BQ, sDelta + stage * BQ, lane, h,
                                                                     nullptr, sQc);
        };
        // Queries 16kk .. 16kk + 15 of P^T and dS^T: two adjacent n-blocks of the accumulators
        // are the A fragment of one k16 step.
        using Frag = typename MmaOps<T>::Frag;
        auto pack = [](const float(*acc)[4], Frag* frag) {
#pragma unroll
            for (int kk = 0; kk < BQ / 16; ++kk) MmaOps<T>::a_from_acc(frag[kk], acc + 2 * kk);
        };
        Frag pa[BQ / 16], da[BQ / 16];
        if constexpr (CW == 2) {
            // S^T and dP^T as two wgmma groups: P^T while the tensor cores compute dP^T.
            float s[8][4], dp[8][4];
            wg::fence();
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk)
                wg::mma_ss<T>(&s[0][0], wg::k_major<BK>(kaddr, kk), wg::k_major<BQ>(qaddr, kk), kk > 0);
            wg::commit();
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk)
                wg::mma_ss<T>(&dp[0][0], wg::k_major<BK>(vaddr, kk), wg::k_major<BQ>(oaddr, kk), kk > 0);
            wg::commit();
            wg::wait<1>();
            wg::fence_operands<32>(&s[0][0]);
            step(std::integral_constant<bwd_tc::Part, bwd_tc::Part::PROBS>{}, s, dp);
            wg::wait<0>();
            wg::fence_operands<32>(&dp[0][0]);
            step(std::integral_constant<bwd_tc::Part, bwd_tc::Part::GRADS>{}, s, dp);
            pack(s, pa);
            pack(dp, da);
        } else {
            // One consumer per CTA has 208 registers: dK and dV take 128, so S^T and dP^T are not
            // live together. S^T, then P^T packed to 16 bits (the dV product's operand), then dP^T
            // and dS^T from the packed P^T.
            float s[8][4];
            wg::fence();
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk)
                wg::mma_ss<T>(&s[0][0], wg::k_major<BK>(kaddr, kk), wg::k_major<BQ>(qaddr, kk), kk > 0);
            wg::commit();
            wg::wait<0>();
            wg::fence_operands<32>(&s[0][0]);
            step(std::integral_constant<bwd_tc::Part, bwd_tc::Part::PROBS>{}, s, nullptr);
            pack(s, pa);
            float dp[8][4];
            wg::fence();
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk)
                wg::mma_ss<T>(&dp[0][0], wg::k_major<BK>(vaddr, kk), wg::k_major<BQ>(oaddr, kk), kk > 0);
            wg::commit();
            wg::wait<0>();
            wg::fence_operands<32>(&dp[0][0]);
            float pt[8][4];  // P^T as packed
#pragma unroll
            for (int kk = 0; kk < BQ / 16; ++kk) {
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    const float2 v = unpack2<T>(pa[kk].hi[r]);
                    pt[2 * kk + (r >> 1)][(r & 1) * 2] = v.x;
                    pt[2 * kk + (r >> 1)][(r & 1) * 2 + 1] = v.y;
                }
            }
            step(std::integral_constant<bwd_tc::Part, bwd_tc::Part::GRADS>{}, pt, dp);
            pack(dp, da);
        }
        wg::fence_operands<D / 2>(dvf);
        wg::fence_operands<D / 2>(dkf);
        wg::fence();
#pragma unroll
        for (int kk = 0; kk < BQ / 16; ++kk) wg::mma_rs<T, D, 1>(dvf, pa[kk].hi, wg::mn_major<BQ>(oaddr, kk), 1);
#pragma unroll
        for (int kk = 0; kk < BQ / 16; ++kk) wg::mma_rs<T, D, 1>(dkf, da[kk].hi, wg::mn_major<BQ>(qaddr, kk), 1);
        wg::commit();
        wg::wait<0>();
        wg::fence_operands<D / 2>(dvf);
        wg::fence_operands<D / 2>(dkf);
        pipe.release(stage, lane);
    }
    bwd_tc::store_acc<T, D>(static_cast<T*>(p.dk), dk, wrow, lane, p.scale, kok, [&](int r) { return krow(r) * D; });
    bwd_tc::store_acc<T, D>(static_cast<T*>(p.dv), dv, wrow, lane, 1.f, kok, [&](int r) { return krow(r) * D; });
#endif
}

template <typename T, int D, int CW>
__device__ __forceinline__ void bwd_dq_ws(const NaParams& p) {
#if NA_HAS_WGMMA
    using namespace bwd_ws;
    using C = DqConfig<T, D, CW>;
    using Team = wg::Team<CW>;
    constexpr int BK = C::BK, STAGES = C::STAGES;
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char* base = smem + ((1024 - (smem_addr(smem) & 1023)) & 1023);  // swizzled tiles: 1 KiB aligned
    T* sK = reinterpret_cast<T*>(base);  // [STAGES][BQ x D swizzled]
    T* sV = sK + STAGES * C::KVTILE;     // [STAGES][BQ x D swizzled]
    T* sO = sV + STAGES * C::KVTILE;     // [BK x D swizzled] dO of the query box
    T* sQ = sO + BK * D;                 // [BK][LDQ]
    int* sRow = reinterpret_cast<int*>(sQ + BK * C::LDQ);  // [BK][ROW_INTS] windows, token per query row
    int* sKc = sRow + BK * ROW_INTS;
    int* sKoff = sKc + BQ;
    const wg::Pipeline<STAGES, CW> pipe(reinterpret_cast<uint64_t*>(sKoff + BQ));  // [2][STAGES] mbarriers

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int h = blockIdx.y, b = blockIdx.z, hk = h / (p.H / p.Hkv);
    const int N = p.L[0] * p.L[1] * p.L[2];
    int g[3], lg[3], q0[3], q1[3], kvs[3], nkv[3];
    if (!cta_tiles<false>(p, g, lg, q0, q1, kvs, nkv)) return;
    fill_row_windows<false, BK, Team::THREADS>(sRow, p, q0, q1, lg, g, tid);
    fill_tile_table<BQ, Team::THREADS>(sKc, sKoff, p, tid);
    pipe.init(tid);
    __syncthreads();  // tables and barriers visible to all

    const int nTiles = nkv[0] * nkv[1] * nkv[2];
    const TileGrid grid(nkv);
    if (warp < 4) {  // the producer
        pipe.produce(nTiles, [&](int j, int stage) {
            int kb[3];
            tile_origin(j, grid, kvs, p.tkv, kb);
            bwd_tc::load_key_stage<T, D, 128, wg::SwizzledRows<BQ>>(p, static_cast<long long>(b) * N, kb, hk, g, lg,
                                                                   sKc, sKoff, sK + stage * C::KVTILE,
                                                                   sV + stage * C::KVTILE);
        });
        return;
    }

    // The consumers: warp w of 4 .. owns query rows 16 (w - 4) .. of the box.
    wg::claim_registers<Team::CONSUMER_REGS>();
    auto qok = [&](int r) { return sRow[r * ROW_INTS + 6] >= 0; };
    auto qrow = [&](int r) { return (static_cast<long long>(b) * N + sRow[r * ROW_INTS + 6]) * p.H + h; };
    load_rows<T, D, BK, Team::CONSUMER_THREADS, PaddedRows<T, D>, 128>({sQ}, {static_cast<const T*>(p.q)}, 0, D, qok, qrow);
    load_rows<T, D, BK, Team::CONSUMER_THREADS, wg::SwizzledRows<BK>, 128>({sO}, {static_cast<const T*>(p.dout)}, 0, D, qok, qrow);
    wg::await_consumer_loads<CW>();  // Q and dO

    const int wrow = (warp - 4) * 16;
    const uint32_t oaddr = smem_addr(sO) + (wrow & 64) * 128;  // this warpgroup's 64 rows of dO
    typename MmaOps<T>::Frag qf[D / 16];  // this warp's 16 query rows
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) MmaOps<T>::load_a(qf[kk], sQ, wrow, kk * 16, C::LDQ, lane);
    float lse2[2], delta[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const int r = wrow + (lane >> 2) + half * 8;
        const bool ok = qok(r);
        const long long row = ok ? qrow(r) : 0;
        lse2[half] = ok ? p.lse[row] * kLog2e : 0.f;
        delta[half] = ok ? p.delta[row] : 0.f;
    }
    int span[3];
    uint64_t comb[3];
    box_mask_setup(p.tkv, span, comb);
    float dq[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) dq[i][0] = dq[i][1] = dq[i][2] = dq[i][3] = 0.f;
    float* dqf = &dq[0][0];
    for (int j = 0; j < nTiles; ++j) {
        const int stage = pipe.acquire(j);
        const uint32_t kaddr = smem_addr(sK + stage * C::KVTILE);
        const uint32_t vaddr = smem_addr(sV + stage * C::KVTILE);

        float s[8][4], dp[8][4];
        wg::fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) wg::mma_rs<T, BQ, 0>(&s[0][0], qf[kk].hi, wg::k_major<BQ>(kaddr, kk), kk > 0);
        wg::commit();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk)
            wg::mma_ss<T>(&dp[0][0], wg::k_major<BK>(oaddr, kk), wg::k_major<BQ>(vaddr, kk), kk > 0);
        wg::commit();

        // P while the tensor cores compute dP, then dS.
        int kb[3];
        tile_origin(j, grid, kvs, p.tkv, kb);
        wg::wait<1>();
        wg::fence_operands<32>(&s[0][0]);
#pragma unroll
        for (int half = 0; half < 2; ++half)
            bwd_tc::dq_row_half<T, false, bwd_tc::Part::PROBS>(s, dp, half, sRow, wrow, kb, p, span, comb, lse2[half],
                                                               delta[half], lane, h, nullptr, sKc);
        wg::wait<0>();
        wg::fence_operands<32>(&dp[0][0]);
#pragma unroll
        for (int half = 0; half < 2; ++half)
            bwd_tc::dq_row_half<T, false, bwd_tc::Part::GRADS>(s, dp, half, sRow, wrow, kb, p, span, comb, lse2[half],
                                                               delta[half], lane, h, nullptr, sKc);

        // Keys 16kk .. 16kk + 15 of dS: the A fragment of one k16 step of dQ += dS K.
        typename MmaOps<T>::Frag da[BQ / 16];
#pragma unroll
        for (int kk = 0; kk < BQ / 16; ++kk) MmaOps<T>::a_from_acc(da[kk], s + 2 * kk);
        wg::fence_operands<D / 2>(dqf);
        wg::fence();
#pragma unroll
        for (int kk = 0; kk < BQ / 16; ++kk) wg::mma_rs<T, D, 1>(dqf, da[kk].hi, wg::mn_major<BQ>(kaddr, kk), 1);
        wg::commit();
        wg::wait<0>();
        wg::fence_operands<D / 2>(dqf);
        pipe.release(stage, lane);
    }
    bwd_tc::store_acc<T, D>(static_cast<T*>(p.dq), dq, wrow, lane, p.scale, qok, [&](int r) { return qrow(r) * D; });
#endif
}

// The warp-specialized Hopper forward (sm_90a; fp16/bf16, head dim 128): the tensor-core
// forward's query tiles, key/value tiles, masks and online softmax (fwd_tc), reorganized the way
// FlashAttention-3 feeds Hopper's tensor cores.
//
// A CTA (wg::Team: a producer and CW consumer warpgroups) computes one tile of BM = 64 CW queries.
// The producer walks the key/value tiles and copies each (cp.async, 128-byte swizzle) into one of
// STAGES shared-memory stages as soon as the consumers have released it; an mbarrier per stage
// ("full") completes when the copies of all 128 producer threads have landed. Each consumer owns
// 64 query rows: S = Q K^T by wgmma (Q in registers, K by descriptor), the masks and online
// softmax of fwd_tc on the accumulators (per warp the mma.sync layout), O += P V by wgmma (P in
// registers), then the stage is released ("empty", one arrival per consumer warp). The consumers
// never meet at a barrier inside the loop and issue no loads, so one warpgroup's softmax overlaps
// another's products (of its CTA or, at CW = 1, of the SM's other CTA) and the copies run ahead by
// STAGES - 1 tiles. The producer gives registers up (setmaxnreg) for the consumers' accumulators.
#pragma once
#include "na_forward_tc.cuh"
#include "na_wgmma.cuh"

namespace fwd_ws {
// CW consumer warpgroups (wg::Team): BM = 64 CW queries per CTA.
template <typename T, int D, int CW>
struct Config {
    static_assert(D == 128, "head dim 128 (at 64 the mma.sync forward measured faster)");
    static constexpr int BM = wg::Team<CW>::ROWS;
    static constexpr int BN = fwd_tc::BN;
    static constexpr int STAGES = CW == 2 ? 4 : 2;  // two CTAs per SM at CW = 1
    static constexpr int TILE = BN * D;              // elements of one swizzled K or V stage
    static constexpr int LDQ = lds<T, D>;            // padded Q rows (ldmatrix into registers)
    // Java mirrors this in TensorCoreKernel.sharedBytes: 1 KiB of alignment slack, the K and V
    // stages, Q, the row and key tables, the 2 * STAGES mbarriers.
    static constexpr int SMEM = 1024 + 2 * STAGES * TILE * sizeof(T) + BM * LDQ * sizeof(T) +
                                (BM * fwd_tc::ROW_INFO + 2 * BN) * 4 + 2 * STAGES * 8;
};
}  // namespace fwd_ws

template <typename T, int D, int CW>
__device__ __forceinline__ void fwd_ws_kernel(const NaParams& p) {
#if NA_HAS_WGMMA
    using C = fwd_ws::Config<T, D, CW>;
    using Team = wg::Team<CW>;
    constexpr int BM = C::BM, BN = C::BN, STAGES = C::STAGES;
    extern __shared__ __align__(128) unsigned char smem[];
    // Swizzled tiles start on a 1 KiB boundary.
    unsigned char* base = smem + ((1024 - (smem_addr(smem) & 1023)) & 1023);
    T* sK = reinterpret_cast<T*>(base);  // [STAGES][BN x D swizzled]
    T* sV = sK + STAGES * C::TILE;       // [STAGES][BN x D swizzled]
    T* sQ = sV + STAGES * C::TILE;       // [BM][LDQ]
    int* sRow = reinterpret_cast<int*>(sQ + BM * C::LDQ);  // [BM][ROW_INFO]
    int* sKc = sRow + BM * fwd_tc::ROW_INFO;                // [BN] packed tile-local key coords
    int* sKoff = sKc + BN;                                  // [BN] token offset from the tile origin
    const wg::Pipeline<STAGES, CW> pipe(reinterpret_cast<uint64_t*>(sKoff + BN));  // [2][STAGES] mbarriers

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    fwd_tc::QueryTile t;
    if (!t.init(p)) return;
    fwd_tc::fill_query_rows<BM, Team::THREADS>(sRow, p, t, tid);
    fill_tile_table<BN, Team::THREADS>(sKc, sKoff, p, tid);
    pipe.init(tid);
    __syncthreads();  // tables and barriers visible to all

    const TileGrid grid(t.nkv);
    const int nTiles = t.count(p);
    if (warp < 4) {  // the producer
        const fwd_tc::KeySource src(p);
        pipe.produce(nTiles, [&](int j, int stage) {
            fwd_tc::load_key_tile<T, D, 128, wg::SwizzledRows<BN>>(p, t, grid, j, sK + stage * C::TILE,
                                                                  sV + stage * C::TILE, sKc, sKoff, src);
        });
        return;
    }

    // The consumers: warp w of 4 .. owns query rows 16 (w - 4) ..
    wg::claim_registers<Team::CONSUMER_REGS>();
    const int wrow = (warp - 4) * 16;
    fwd_tc::load_query_tile<T, D, BM, Team::CONSUMER_THREADS, 128>(p, sQ, sRow);
    cp_async_commit();
    cp_async_wait<0>();
    wg::named_barrier(1, Team::CONSUMER_THREADS);
    typename MmaOps<T>::Frag qf[D / 16];  // this warp's 16 query rows
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) MmaOps<T>::load_a(qf[kk], sQ, wrow, kk * 16, C::LDQ, lane);

    const fwd_tc::RowSoftmax<T, D> softmax(p, t, sRow, sKc, blockIdx.y, lane);
    float o[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    float* of = &o[0][0];

    for (int j = 0; j < nTiles; ++j) {
        const int stage = pipe.acquire(j);
        const uint32_t kaddr = smem_addr(sK + stage * C::TILE);
        const uint32_t vaddr = smem_addr(sV + stage * C::TILE);

        float s[BN / 8][4];
        float* sf = &s[0][0];
        wg::fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) wg::mma_rs<T, BN, 0>(sf, qf[kk].hi, wg::k_major<BN>(kaddr, kk), kk > 0);
        wg::commit();
        wg::wait<0>();
        wg::fence_operands<BN / 2>(sf);

        softmax(s, o, m, l, wrow, j, fwd_tc::KeyTile(j, t, grid, p, softmax.hasRpb));

        // Keys 16kk .. 16kk + 15 of P: the S accumulators of two adjacent n-blocks are the A
        // fragment of one k16 step.
        typename MmaOps<T>::Frag pa[BN / 16];
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) MmaOps<T>::a_from_acc(pa[kk], s + 2 * kk);
        wg::fence_operands<D / 2>(of);
        wg::fence();
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) wg::mma_rs<T, D, 1>(of, pa[kk].hi, wg::mn_major<BN>(vaddr, kk), 1);
        wg::commit();
        wg::wait<0>();
        wg::fence_operands<D / 2>(of);
        pipe.release(stage, lane);
    }
    fwd_tc::store_rows<T, D>(p, t, o, m, l, wrow, lane);
#endif
}

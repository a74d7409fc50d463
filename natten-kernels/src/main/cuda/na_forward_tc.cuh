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
//
// WG = true is the Hopper (sm_90a) instance: the same tiles, masks and softmax, with both products
// on warpgroup MMA. Each warpgroup (4 warps, NW / 4 of them) owns 64 query rows; warp w still owns
// rows 16w..16w+15, since the wgmma accumulator and register-A fragments are those of mma.sync
// per warp. Q fragments stay in registers for the whole tile walk; K and V tiles are stored
// 128-byte-swizzled (wg::swizzled_offset) and read by the tensor cores through descriptors: S =
// Q K^T (K-major B, m64n64k16), O += P V with P from registers (MN-major B, m64nDk16).
#pragma once
#include "na_wgmma.cuh"

namespace fwd_tc {
constexpr int BN = 64;         // keys per key/value tile
constexpr int ROW_INFO = 9;    // per query row: start[3], end[3], group coords[3]
constexpr float LOG2E = 1.4426950408889634f;
template <bool B>
struct Flag {  // a compile-time flag passed to a generic lambda
    static constexpr bool value = B;
};

// NW warps of MT m16 row blocks each: BM = 16 * MT * NW queries per tile. WG: wgmma (MT = 1).
template <typename T, int D, int NW, int MT, bool WG>
struct Config {
    static_assert(!WG || (MT == 1 && NW % 4 == 0), "wgmma: whole warpgroups of one row block");
    static constexpr int BM = 16 * MT * NW;
    static constexpr int NT = 32 * NW;
    static constexpr int LDS = D + 8;  // padded shared row: ldmatrix rows hit distinct banks
    static constexpr int CPR = D / 8;  // 16-byte chunks per row
    static constexpr int RPP = NT / CPR;  // rows per load pass
    static constexpr int KV = WG ? BN * D : BN * LDS;  // elements of one K or V stage
    static constexpr int ALIGN = WG ? 1024 : 0;        // slack to align swizzled tiles to 1 KiB
    // Java mirrors this in TensorCoreKernel.sharedBytes.
    static constexpr int SMEM = ALIGN + (BM * LDS + 4 * KV) * 2 + (BM * ROW_INFO + 2 * BN) * 4;
};
}  // namespace fwd_tc

template <typename T, int D, int NW, int MT, bool WG>
__device__ __forceinline__ void fwd_tc_kernel(const NaParams& p) {
    using C = fwd_tc::Config<T, D, NW, MT, WG>;
    constexpr int BM = C::BM, BN = fwd_tc::BN, LDS = C::LDS, CPR = C::CPR, RPP = C::RPP, KV = C::KV;
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char* base = smem;
    if constexpr (WG) base += (C::ALIGN - (smem_addr(smem) & (C::ALIGN - 1))) & (C::ALIGN - 1);
    T* sK = reinterpret_cast<T*>(base);
    T* sV = sK + 2 * KV;  // K and V: [2 stages][KV]
    T* sQ = sV + 2 * KV;  // [BM][LDS]
    int* sRow = reinterpret_cast<int*>(sQ + BM * LDS);       // [BM][ROW_INFO]
    int* sKc = sRow + BM * fwd_tc::ROW_INFO;                 // [BN] packed tile-local key coords
    int* sKoff = sKc + BN;                                   // [BN] token offset from the tile origin

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

    // Row windows; tile-local key coordinates and token offsets (token_of is linear in x).
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
        sKoff[c] = (kc[0] * p.dil[0] * p.L[1] + kc[1] * p.dil[1]) * p.L[2] + kc[2] * p.dil[2];
    }

    int span[3];
    uint64_t comb[3];
    box_mask_setup(p.tkv, span, comb);

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
    __syncthreads();  // tables visible to the loads below

    const int nNa = nkv[0] * nkv[1] * nkv[2];
    const int nTiles = nNa + (p.T + BN - 1) / BN;
    const T* kg = static_cast<const T*>(p.k);
    const T* vg = static_cast<const T*>(p.v);
    const T* akg = static_cast<const T*>(p.addk);
    const T* avg = static_cast<const T*>(p.addv);
    const long long kvRow0 = static_cast<long long>(b) * N;

    // Origin (group coords) of neighbourhood tile j.
    auto tile_origin = [&](int j, int* kb) {
        int tj[3];
        unflatten(j, nkv, tj);
#pragma unroll
        for (int a = 0; a < 3; ++a) kb[a] = kvs[a] + tj[a] * p.tkv[a];
    };
    // Element offset of chunk `chunk` of key row c in a K or V stage.
    auto kv_at = [&](int c) {
        if constexpr (WG) {
            return wg::swizzled_offset<BN>(c, chunk) / 2;
        } else {
            return c * LDS + chunk * 8;
        }
    };
    // Loads key/value tile j: K to dk if WITH_K, V to dv if WITH_V (compile-time flags).
    auto load_kv = [&](int j, T* dk, T* dv, auto withK, auto withV) {
        constexpr bool WITH_K = decltype(withK)::value, WITH_V = decltype(withV)::value;
        if (j < nNa) {
            int kb[3];
            tile_origin(j, kb);
            const int lim0 = lg[0] - kb[0], lim1 = lg[1] - kb[1], lim2 = lg[2] - kb[2];
            const long long base = kvRow0 + token_of(p, kb, g);
#pragma unroll
            for (int pass = 0; pass < (BN + RPP - 1) / RPP; ++pass) {
                int c = tid / CPR + pass * RPP;
                if (c < BN) {
                    int pk = sKc[c];
                    bool valid = (pk & 255) < lim0 && ((pk >> 8) & 255) < lim1 && (pk >> 16) < lim2;
                    long long off = valid ? ((base + sKoff[c]) * p.Hkv + hk) * D : 0;
                    if constexpr (WITH_K) cp_async16(dk + kv_at(c), kg + off + chunk * 8, valid);
                    if constexpr (WITH_V) cp_async16(dv + kv_at(c), vg + off + chunk * 8, valid);
                }
            }
        } else {
#pragma unroll
            for (int pass = 0; pass < (BN + RPP - 1) / RPP; ++pass) {
                int c = tid / CPR + pass * RPP;
                if (c < BN) {
                    int t = (j - nNa) * BN + c;
                    bool valid = t < p.T;
                    long long off = valid ? ((static_cast<long long>(b) * p.T + t) * p.Hkv + hk) * D : 0;
                    if constexpr (WITH_K) cp_async16(dk + kv_at(c), (valid ? akg : kg) + off + chunk * 8, valid);
                    if constexpr (WITH_V) cp_async16(dv + kv_at(c), (valid ? avg : vg) + off + chunk * 8, valid);
                }
            }
        }
    };

    float o[MT][D / 8][4];
    float m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int i = 0; i < D / 8; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.f;
    }
    const float sl2 = p.scale_log2;
    const int wrow = warp * 16 * MT;  // first query row of this warp

    // Logits of key tile j in the log2 domain for the m16 row block starting at row `row0`: masked
    // unless the tile is inside every window of the query tile.
    auto logits = [&](float (*s)[4], int j, int row0) {
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
                const int* info = sRow + (row0 + (lane >> 2) + half * 8) * fwd_tc::ROW_INFO;
                // Bit c of `keep`: tile-local key c lies in this row's window.
                uint64_t keep = box_mask(info, kb, p.tkv, span, comb);
                keep >>= (lane & 3) * 2;
                if (hasRpb) {
                    int qi[3] = {info[6], info[7], info[8]};
#pragma unroll
                    for (int i = 0; i < BN / 8; ++i) {
#pragma unroll
                        for (int e = 0; e < 2; ++e) {
                            float& x = s[i][half * 2 + e];
                            if ((keep >> (i * 8 + e)) & 1) {
                                int pk = sKc[i * 8 + (lane & 3) * 2 + e];
                                int kj[3] = {kb[0] + (pk & 255), kb[1] + ((pk >> 8) & 255), kb[2] + (pk >> 16)};
                                x = x * sl2 + fwd_tc::LOG2E * to_float(static_cast<const T*>(p.rpb)[rpb_index(p, h, qi, kj)]);
                            } else {
                                x = -INFINITY;
                            }
                        }
                    }
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
    };

    // Online softmax of one m16 row block (rows lane/4 and lane/4 + 8): s becomes P, the running
    // maxima and sums move; corr[half] is the factor O's rows must be rescaled by.
    auto softmax = [&](float (*s)[4], float* mr, float* lr, float* corr) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            float mx = mr[half];
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) mx = fmaxf(mx, fmaxf(s[i][2 * half], s[i][2 * half + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float mu = mx == -INFINITY ? 0.f : mx;
            corr[half] = fast_exp2(mr[half] - mu);
            mr[half] = mx;
            float rs = 0.f;
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) {
                s[i][2 * half] = fast_exp2(s[i][2 * half] - mu);
                s[i][2 * half + 1] = fast_exp2(s[i][2 * half + 1] - mu);
                rs += s[i][2 * half] + s[i][2 * half + 1];
            }
            lr[half] = lr[half] * corr[half] + rs;
        }
    };

    // O's rows times corr, skipped for a half whose row maxima did not move in the whole warp.
    auto rescale = [&](float (*ob)[4], const float* corr) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            if (__any_sync(0xffffffffu, corr[half] != 1.f)) {
#pragma unroll
                for (int i = 0; i < D / 8; ++i) {
                    ob[i][2 * half] *= corr[half];
                    ob[i][2 * half + 1] *= corr[half];
                }
            }
        }
    };

    // Keys 16kk..16kk+15 of P (one m16 row block) as the A fragment of O += P V: the S
    // accumulator layout of two adjacent n-blocks is the A layout of one k16.
    auto pack_p = [&](const float (*s)[4], int kk, uint32_t* pa) {
        pa[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
        pa[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
        pa[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        pa[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
    };

    if constexpr (WG) {
        // Software pipeline per warpgroup: S_{j+1} = Q K_{j+1}^T is issued before O += P_j V_j, and
        // its softmax runs while the tensor cores finish P_j V_j; O is rescaled afterwards. K_{j+2}
        // and V_{j+1} load during iteration j, into the stages S_j and P_{j-1} V_{j-1} released.
        auto kst = [&](int j) { return sK + (j & 1) * KV; };  // K_j's stage
        auto vst = [&](int j) { return sV + (j & 1) * KV; };  // V_j's stage
        constexpr fwd_tc::Flag<true> yes;
        constexpr fwd_tc::Flag<false> no;
        load_kv(0, kst(0), nullptr, yes, no);  // with Q: group 0
        cp_async_commit();
        load_kv(0, nullptr, vst(0), no, yes);
        if (nTiles > 1) load_kv(1, kst(1), nullptr, yes, no);
        cp_async_commit();
        cp_async_wait<1>();
        wg::fence_proxy_async();
        __syncthreads();
        uint32_t qreg[D / 16][4];
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk)
            ldsm_x4(qreg[kk], sQ + (wrow + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + kk * 16 + (lane >> 4) * 8);
        float s[BN / 8][4];
        float* sf = &s[0][0];
        float* of = &o[0][0][0];
        auto issue_s = [&](int j) {
            const uint32_t kaddr = smem_addr(kst(j));
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) wg::mma_rs<T, BN, 0>(sf, qreg[kk], wg::k_major<BN>(kaddr, kk), kk > 0);
            wg::commit();
        };
        float corr[2];
        wg::fence();
        issue_s(0);
        wg::wait<0>();
        wg::fence_operands<BN / 2>(sf);
        logits(s, 0, wrow);
        softmax(s, m[0], l[0], corr);
        // Iteration j: O += P_j V_j and, unless j is the last tile (NEXT false), S_{j+1} and its
        // softmax. NEXT is a compile-time flag so that no wgmma sits under a run-time branch.
        auto step = [&](int j, auto next) {
            constexpr bool NEXT = decltype(next)::value;
            uint32_t pa[BN / 16][4];
#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) pack_p(s, kk, pa[kk]);
            cp_async_wait<0>();  // K_{j+1} and V_j
            wg::fence_proxy_async();
            __syncthreads();  // and every warp is done with S_j and P_{j-1} V_{j-1}
            if (j + 2 < nTiles) load_kv(j + 2, kst(j + 2), nullptr, yes, no);
            if constexpr (NEXT) load_kv(j + 1, nullptr, vst(j + 1), no, yes);
            cp_async_commit();
            wg::fence_operands<D / 2>(of);
#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) asm volatile("" : "+r"(pa[kk][0]), "+r"(pa[kk][1]), "+r"(pa[kk][2]), "+r"(pa[kk][3]));
            wg::fence();
            if constexpr (NEXT) issue_s(j + 1);
            const uint32_t vaddr = smem_addr(vst(j));
#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) wg::mma_rs<T, D, 1>(of, pa[kk], wg::mn_major<BN>(vaddr, kk), 1);
            wg::commit();
            if constexpr (NEXT) {
                wg::wait<1>();
                wg::fence_operands<BN / 2>(sf);
                logits(s, j + 1, wrow);
                softmax(s, m[0], l[0], corr);
            }
            wg::wait<0>();
            wg::fence_operands<D / 2>(of);
            if constexpr (NEXT) rescale(o[0], corr);
        };
        for (int j = 0; j + 1 < nTiles; ++j) step(j, fwd_tc::Flag<true>{});
        step(nTiles - 1, fwd_tc::Flag<false>{});
    } else {
        constexpr fwd_tc::Flag<true> both;
        load_kv(0, sK, sV, both, both);
        cp_async_commit();
        for (int j = 0; j < nTiles; ++j) {
            if (j + 1 < nTiles) {
                load_kv(j + 1, sK + ((j + 1) & 1) * KV, sV + ((j + 1) & 1) * KV, both, both);
                cp_async_commit();
                cp_async_wait<1>();
            } else {
                cp_async_wait<0>();
            }
            __syncthreads();
            const T* ks = sK + (j & 1) * KV;
            const T* vs = sV + (j & 1) * KV;

            float s[MT][BN / 8][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int i = 0; i < BN / 8; ++i) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
                uint32_t qf[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
                    ldsm_x4(qf[mt], sQ + (wrow + mt * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + kk * 16 + (lane >> 4) * 8);
#pragma unroll
                for (int nb = 0; nb < BN / 16; ++nb) {
                    uint32_t bk[4];
                    ldsm_x4(bk, ks + (nb * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + kk * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt) {
                        mma16816<T>(s[mt][2 * nb], qf[mt], bk);
                        mma16816<T>(s[mt][2 * nb + 1], qf[mt], bk + 2);
                    }
                }
            }

#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                float corr[2];
                logits(s[mt], j, wrow + mt * 16);
                softmax(s[mt], m[mt], l[mt], corr);
                rescale(o[mt], corr);
            }

#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) {
                uint32_t pa[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) pack_p(s[mt], kk, pa[mt]);
#pragma unroll
                for (int db = 0; db < D / 16; ++db) {
                    uint32_t bv[4];
                    ldsm_x4_t(bv, vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + db * 16 + (lane >> 4) * 8);
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt) {
                        mma16816<T>(o[mt][2 * db], pa[mt], bv);
                        mma16816<T>(o[mt][2 * db + 1], pa[mt], bv + 2);
                    }
                }
            }
            __syncthreads();
        }
    }

    // Epilogue: normalize, write O and the natural-log LSE of valid rows.
    T* og = static_cast<T*>(p.o);
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            float lt = l[mt][half];
            lt += __shfl_xor_sync(0xffffffffu, lt, 1);
            lt += __shfl_xor_sync(0xffffffffu, lt, 2);
            const int r = wrow + mt * 16 + (lane >> 2) + half * 8;
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
                *reinterpret_cast<uint32_t*>(orow + i * 8) = pack2<T>(o[mt][i][2 * half] * inv, o[mt][i][2 * half + 1] * inv);
            if ((lane & 3) == 0) p.lse[row] = (m[mt][half] + __log2f(lt)) * 0.6931471805599453f;
        }
    }
}

// The Hopper instance's body: wgmma exists in the sm_90a pass only, other passes get an empty kernel.
template <typename T, int D, int G>
__device__ __forceinline__ void fwd_wg_kernel(const NaParams& p) {
#if NA_HAS_WGMMA
    fwd_tc_kernel<T, D, 4 * G, 1, true>(p);
#endif
}

// The one translation unit of the fused kernels: every kernel the Java side launches, by C name.
// Names: na_<what>_<dtype>[_d<head dim>_w<warps>]; the Java side (ai.natten.cuda.KernelVariant)
// builds the same names.
#include "na_forward_simple.cuh"
#include "na_forward_tc.cuh"
#include "na_forward_ws.cuh"
#include "na_backward_simple.cuh"
#include "na_backward_tc.cuh"
#include "na_backward_ws.cuh"

#define NA_FWD_SIMPLE(NAME, T) \
    extern "C" __global__ void __launch_bounds__(128) NAME(const NaParams p) { fwd_simple<T>(p); }
NA_FWD_SIMPLE(na_fwd_simple_f32, float)
NA_FWD_SIMPLE(na_fwd_simple_f16, __half)
NA_FWD_SIMPLE(na_fwd_simple_bf16, __nv_bfloat16)

// Blocks per SM to budget registers for. fp16/bf16 with one row block: 4 CTAs (head dim 128: 128
// registers with 24 bytes spilled, and one K/V stage, below, for shared memory: 25% faster than two
// stages at 2 CTAs, 10% faster than at 3); two row blocks: no bound (255 registers, 2 CTAs). float32 (by ptxas
// -v): 128 registers at head dims 32 and 64, 168 at 128 spill least (none at 32, 68 bytes reloaded
// per thread otherwise, against 550-650 with 255 registers); shared memory admits 4, 2 and 1 CTAs
// per SM.
#define NA_FWD_MIN_BLOCKS(T, D, MT) (sizeof(T) == 4 ? ((D) <= 64 ? 4 : 3) : (MT) == 1 ? 4 : 1)
// K/V stages: one for 64-query tiles at head dim 128 in fp16/bf16 (55 KB of shared memory: 4 CTAs
// per SM where two stages fit 2), else two. Java mirrors it (TensorCoreKernel).
#define NA_FWD_KV_STAGES(T, D, MT) (sizeof(T) == 2 && (D) == 128 && (MT) == 1 ? 1 : 2)
#define NA_FWD_TC(T, TN, D, NW, MT)                                                          \
    extern "C" __global__ void __launch_bounds__(32 * NW, NA_FWD_MIN_BLOCKS(T, D, MT))      \
        na_fwd_tc_##TN##_d##D##_w##NW##_m##MT(                                               \
        const NaParams p) {                                                                       \
        fwd_tc_kernel<T, D, NW, MT, NA_FWD_KV_STAGES(T, D, MT)>(p);                                \
    }
#define NA_FWD_TC_M1(T, TN)         \
    NA_FWD_TC(T, TN, 32, 4, 1)      \
    NA_FWD_TC(T, TN, 64, 4, 1)      \
    NA_FWD_TC(T, TN, 128, 4, 1)
#define NA_FWD_TC_M2(T, TN)         \
    NA_FWD_TC(T, TN, 32, 4, 2)      \
    NA_FWD_TC(T, TN, 64, 4, 2)      \
    NA_FWD_TC(T, TN, 128, 4, 2)
NA_FWD_TC_M1(__half, f16)
NA_FWD_TC_M2(__half, f16)
NA_FWD_TC_M1(__nv_bfloat16, bf16)
NA_FWD_TC_M2(__nv_bfloat16, bf16)
NA_FWD_TC_M1(float, f32)

// The warp-specialized Hopper forward (na_forward_ws.cuh), boxes of R = 64 CW rows (wg::Team):
// compiled in the sm_90a pass only; the other passes keep an empty kernel of the same name, which
// the Java side never launches there.
#define NA_WS_BOUNDS(CW) __launch_bounds__(wg::Team<CW>::THREADS, wg::Team<CW>::CTAS_PER_SM)
#define NA_FWD_WS(T, TN, D, CW, R) \
    extern "C" __global__ void NA_WS_BOUNDS(CW) na_fwd_ws_##TN##_d##D##_r##R(const NaParams p) { fwd_ws_kernel<T, D, CW>(p); }
NA_FWD_WS(__half, f16, 128, 1, 64)
NA_FWD_WS(__half, f16, 128, 2, 128)
NA_FWD_WS(__nv_bfloat16, bf16, 128, 1, 64)
NA_FWD_WS(__nv_bfloat16, bf16, 128, 2, 128)

#define NA_BWD_SIMPLE(T, TN)                                                                                \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_delta_##TN(const NaParams p) { bwd_delta<T>(p); }   \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_dq_simple_##TN(const NaParams p) { bwd_dq_simple<T>(p); } \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_dkdv_simple_##TN(const NaParams p) { bwd_dkdv_simple<T>(p); } \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_dadd_simple_##TN(const NaParams p) { bwd_dadd_simple<T>(p); } \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_drpb_ordered_##TN(const NaParams p) { bwd_drpb_ordered<T>(p); } \
    extern "C" __global__ void na_convert_f32_##TN(T* out, const float* in, long long n, float scale) { convert_from_f32(out, in, n, scale); }
NA_BWD_SIMPLE(float, f32)
NA_BWD_SIMPLE(__half, f16)
NA_BWD_SIMPLE(__nv_bfloat16, bf16)

// Launch bounds of the plain dq, the dk/dv and the fused (dq into dk/dv where BackwardLaunch.fusesDq)
// kernels. fp16/bf16 at head dim 32 (ptxas sm_90a, no spills): dq, dk/dv, fused and the rpb dq
// kernels for 4 CTAs per SM (128 registers, from 139-168: 3). At head dim 64: dq for 4 CTAs
// per SM (128 registers; its 56 KB of tiles admit exactly 4), dk/dv and fused for 3 (163 and 168
// registers, against 213 and 226 unbounded: 2 CTAs); at head dim 128 dq with one K/V stage for 3
// (68 KB of tiles, 168 registers; BackwardLaunch.dqKvStages). float32 at head dim 32: the fused kernel
// capped at 168 registers, 3 CTAs per SM as in fp16/bf16 (no spills; uncapped 255 registers).
// The _rpb_ kernels add the relative positional bias (the dq ones also sum its gradient: _rpb_ by
// atomics, _rpb_ordered_ into per-CTA slices for na_bwd_drpb_reduce, the deterministic mode); at head
// dim 32 capped at 168 registers, 3 CTAs per SM as without rpb (ptxas sm_90a: uncapped the dk/dv one
// takes 194 registers in fp16/bf16, 236 in float32; capped 161 without spills, float32 168 with 8/32
// bytes spilled/reloaded). Elsewhere plain bounds: ptxas treats (128, 1) differently (dq d64: 200
// registers instead of 167).
#define NA_BWD_RPB_BOUNDS_32 __launch_bounds__(128, 3)
#define NA_BWD_RPB_BOUNDS_64 __launch_bounds__(128)
#define NA_BWD_RPB_BOUNDS_128 __launch_bounds__(128)
#define NA_BWD_TC_BOUNDS(T, TN, D, DQ_BOUNDS, DQ_STAGES, DKDV_BOUNDS, FUSED_BOUNDS, DQ_RPB_BOUNDS)           \
    extern "C" __global__ void DQ_BOUNDS na_bwd_dq_tc_##TN##_d##D(const NaParams p) { bwd_dq_tc<T, D, false, false, DQ_STAGES>(p); } \
    extern "C" __global__ void DKDV_BOUNDS na_bwd_dkdv_tc_##TN##_d##D(const NaParams p) { bwd_dkdv_tc<T, D, false, false>(p); } \
    extern "C" __global__ void FUSED_BOUNDS na_bwd_dkdv_dq_tc_##TN##_d##D(const NaParams p) { bwd_dkdv_tc<T, D, true, false>(p); } \
    extern "C" __global__ void DQ_RPB_BOUNDS na_bwd_dq_rpb_tc_##TN##_d##D(const NaParams p) { bwd_dq_tc<T, D, true, false>(p); } \
    extern "C" __global__ void DQ_RPB_BOUNDS na_bwd_dq_rpb_ordered_tc_##TN##_d##D(const NaParams p) { bwd_dq_tc<T, D, true, true>(p); } \
    extern "C" __global__ void NA_BWD_RPB_BOUNDS_##D na_bwd_dkdv_rpb_tc_##TN##_d##D(const NaParams p) { bwd_dkdv_tc<T, D, false, true>(p); }
#define NA_BWD_TC(T, TN, D) \
    NA_BWD_TC_BOUNDS(T, TN, D, __launch_bounds__(128), 2, __launch_bounds__(128), __launch_bounds__(128), NA_BWD_RPB_BOUNDS_##D)
#define NA_BWD_TC_D32(T, TN)                                                                                  \
    NA_BWD_TC_BOUNDS(T, TN, 32, __launch_bounds__(128, 4), 2, __launch_bounds__(128, 4), __launch_bounds__(128, 4), \
                     __launch_bounds__(128, 4))
#define NA_BWD_TC_D64(T, TN)                                                                                  \
    NA_BWD_TC_BOUNDS(T, TN, 64, __launch_bounds__(128, 4), 2, __launch_bounds__(128, 3), __launch_bounds__(128, 3), \
                     NA_BWD_RPB_BOUNDS_64)
#define NA_BWD_TC_D128(T, TN)                                                                                  \
    NA_BWD_TC_BOUNDS(T, TN, 128, __launch_bounds__(128, 3), 1, __launch_bounds__(128), __launch_bounds__(128),   \
                     NA_BWD_RPB_BOUNDS_128)
NA_BWD_TC_D32(__half, f16)
NA_BWD_TC_D64(__half, f16)
NA_BWD_TC_D128(__half, f16)
NA_BWD_TC_D32(__nv_bfloat16, bf16)
NA_BWD_TC_D64(__nv_bfloat16, bf16)
NA_BWD_TC_D128(__nv_bfloat16, bf16)
NA_BWD_TC_BOUNDS(float, f32, 32, __launch_bounds__(128), 2, __launch_bounds__(128), __launch_bounds__(128, 3), NA_BWD_RPB_BOUNDS_32)
NA_BWD_TC(float, f32, 64)
NA_BWD_TC(float, f32, 128)

// The warp-specialized Hopper dq and dk/dv kernels (na_backward_ws.cuh): sm_90a only, as the
// forward's.
#define NA_BWD_WS(T, TN, D, CW, R)                                                                       \
    extern "C" __global__ void NA_WS_BOUNDS(CW) na_bwd_dq_ws_##TN##_d##D##_r##R(const NaParams p) {     \
        bwd_dq_ws<T, D, CW>(p);                                                                          \
    }                                                                                                    \
    extern "C" __global__ void NA_WS_BOUNDS(CW) na_bwd_dkdv_ws_##TN##_d##D##_r##R(const NaParams p) {   \
        bwd_dkdv_ws<T, D, CW>(p);                                                                        \
    }
NA_BWD_WS(__half, f16, 128, 1, 64)
NA_BWD_WS(__half, f16, 128, 2, 128)
NA_BWD_WS(__nv_bfloat16, bf16, 128, 1, 64)
NA_BWD_WS(__nv_bfloat16, bf16, 128, 2, 128)

#define NA_BWD_DRPB_REDUCE(T, TN)                                                                         \
    extern "C" __global__ void __launch_bounds__(128)                                                     \
        na_bwd_drpb_reduce_##TN(T* out, const float* slices, int ctas, int perHead) {                     \
        bwd_drpb_reduce(out, slices, ctas, perHead);                                                      \
    }
NA_BWD_DRPB_REDUCE(float, f32)
NA_BWD_DRPB_REDUCE(__half, f16)
NA_BWD_DRPB_REDUCE(__nv_bfloat16, bf16)

// Fills n elements with normal samples (std) from a counter-based hash: benchmark inputs.
template <typename T>
__device__ void fill_normal(T* out, long long n, unsigned seed, float std) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        unsigned x = static_cast<unsigned>(i) * 2654435761u ^ seed;
        unsigned y = static_cast<unsigned>(i >> 32) * 2246822519u + seed * 3266489917u + x;
        x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
        y ^= y >> 16; y *= 0x7feb352du; y ^= y >> 15; y *= 0x846ca68bu; y ^= y >> 16;
        float u1 = (x >> 8) * (1.f / 16777216.f) + (0.5f / 16777216.f);
        float u2 = (y >> 8) * (1.f / 16777216.f);
        out[i] = from_float<T>(std * sqrtf(-2.f * logf(u1)) * cospif(2.f * u2));
    }
}
extern "C" __global__ void na_fill_normal_f32(float* out, long long n, unsigned seed, float std) { fill_normal(out, n, seed, std); }
extern "C" __global__ void na_fill_normal_f16(__half* out, long long n, unsigned seed, float std) { fill_normal(out, n, seed, std); }
extern "C" __global__ void na_fill_normal_bf16(__nv_bfloat16* out, long long n, unsigned seed, float std) { fill_normal(out, n, seed, std); }

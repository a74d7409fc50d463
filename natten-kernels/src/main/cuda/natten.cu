// The one translation unit of the fused kernels: every kernel the Java side launches, by C name.
// Names: na_<what>_<dtype>[_d<head dim>_w<warps>]; the Java side (ai.natten.cuda.KernelVariant)
// builds the same names.
#include "na_forward_simple.cuh"
#include "na_forward_tc.cuh"
#include "na_backward_simple.cuh"
#include "na_backward_tc.cuh"

#define NA_FWD_SIMPLE(NAME, T) \
    extern "C" __global__ void __launch_bounds__(128) NAME(const NaParams p) { fwd_simple<T>(p); }
NA_FWD_SIMPLE(na_fwd_simple_f32, float)
NA_FWD_SIMPLE(na_fwd_simple_f16, __half)
NA_FWD_SIMPLE(na_fwd_simple_bf16, __nv_bfloat16)

// Blocks per SM to budget registers for: small head dims fit 4 CTAs of one row block each.
#define NA_FWD_MIN_BLOCKS(D, MT) ((MT) == 1 && (D) <= 64 ? 4 : 1)
#define NA_FWD_TC(T, TN, D, NW, MT)                                                          \
    extern "C" __global__ void __launch_bounds__(32 * NW, NA_FWD_MIN_BLOCKS(D, MT))         \
        na_fwd_tc_##TN##_d##D##_w##NW##_m##MT(                                               \
        const NaParams p) {                                                                       \
        fwd_tc_kernel<T, D, NW, MT, false>(p);                                                    \
    }
#define NA_FWD_TC_DTYPE(T, TN)      \
    NA_FWD_TC(T, TN, 32, 4, 1)      \
    NA_FWD_TC(T, TN, 64, 4, 1)      \
    NA_FWD_TC(T, TN, 128, 4, 1)     \
    NA_FWD_TC(T, TN, 32, 4, 2)      \
    NA_FWD_TC(T, TN, 64, 4, 2)      \
    NA_FWD_TC(T, TN, 128, 4, 2)
NA_FWD_TC_DTYPE(__half, f16)
NA_FWD_TC_DTYPE(__nv_bfloat16, bf16)

// Hopper instances (wgmma): G warpgroups of 64 query rows. Compiled in the sm_90a pass only; the
// other passes keep an empty kernel of the same name, which the Java side never launches there.
#define NA_FWD_WG(T, TN, D, G)                                                                   \
    extern "C" __global__ void __launch_bounds__(128 * G, G == 1 ? 2 : 1)                      \
        na_fwd_wg_##TN##_d##D##_g##G(const NaParams p) {                                          \
        fwd_wg_kernel<T, D, G>(p);                                                                \
    }
#define NA_FWD_WG_DTYPE(T, TN) \
    NA_FWD_WG(T, TN, 64, 1)    \
    NA_FWD_WG(T, TN, 128, 1)   \
    NA_FWD_WG(T, TN, 64, 2)    \
    NA_FWD_WG(T, TN, 128, 2)
NA_FWD_WG_DTYPE(__half, f16)
NA_FWD_WG_DTYPE(__nv_bfloat16, bf16)

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

#define NA_BWD_TC(T, TN, D)                                                                                  \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_dq_tc_##TN##_d##D(const NaParams p) { bwd_dq_tc<T, D>(p); } \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_dkdv_tc_##TN##_d##D(const NaParams p) { bwd_dkdv_tc<T, D, false>(p); } \
    extern "C" __global__ void __launch_bounds__(128) na_bwd_dkdv_dq_tc_##TN##_d##D(const NaParams p) { bwd_dkdv_tc<T, D, true>(p); }
NA_BWD_TC(__half, f16, 32)
NA_BWD_TC(__half, f16, 64)
NA_BWD_TC(__half, f16, 128)
NA_BWD_TC(__nv_bfloat16, bf16, 32)
NA_BWD_TC(__nv_bfloat16, bf16, 64)
NA_BWD_TC(__nv_bfloat16, bf16, 128)

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

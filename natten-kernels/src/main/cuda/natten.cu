// The one translation unit of the fused kernels: every kernel the Java side launches, by C name.
// Names: na_<what>_<dtype>[_d<head dim>_w<warps>]; the Java side (ai.natten.cuda.KernelVariant)
// builds the same names.
#include "na_forward_simple.cuh"
#include "na_forward_tc.cuh"

#define NA_FWD_SIMPLE(NAME, T) \
    extern "C" __global__ void __launch_bounds__(128) NAME(const NaParams p) { fwd_simple<T>(p); }
NA_FWD_SIMPLE(na_fwd_simple_f32, float)
NA_FWD_SIMPLE(na_fwd_simple_f16, __half)
NA_FWD_SIMPLE(na_fwd_simple_bf16, __nv_bfloat16)

#define NA_FWD_TC(NAME, T, D, NW)                                                   \
    extern "C" __global__ void __launch_bounds__(32 * NW) NAME(const NaParams p) { \
        fwd_tc_kernel<T, D, NW>(p);                                                 \
    }
NA_FWD_TC(na_fwd_tc_f16_d32_w4, __half, 32, 4)
NA_FWD_TC(na_fwd_tc_f16_d64_w4, __half, 64, 4)
NA_FWD_TC(na_fwd_tc_f16_d128_w4, __half, 128, 4)
NA_FWD_TC(na_fwd_tc_bf16_d32_w4, __nv_bfloat16, 32, 4)
NA_FWD_TC(na_fwd_tc_bf16_d64_w4, __nv_bfloat16, 64, 4)
NA_FWD_TC(na_fwd_tc_bf16_d128_w4, __nv_bfloat16, 128, 4)

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

// What the tensor-core forward and backward share about their tiles: shared-memory tiles of rows
// filled by cp.async, the coordinates of a box's rows, the origins of the tiles they iterate and
// the test of a tile's element against its dilation group.
#pragma once
#include "na_mma.cuh"

// Shared row stride of a tile of rows of `elems` elements: padded by one 16-byte chunk (ldmatrix
// rows then hit distinct banks).
template <typename T, int elems>
constexpr int lds = elems + MmaOps<T>::EPC;

// Loads ROWS rows of D elements by cp.async into dst (row stride lds<T, D>), NT threads: row r from
// element offset off(r) of src if valid(r), else zero-filled.
template <typename T, int D, int ROWS, int NT, typename Valid, typename Off>
__device__ __forceinline__ void load_rows(T* dst, const T* src, Valid valid, Off off) {
    constexpr int EPC = MmaOps<T>::EPC, LDS = lds<T, D>, CPR = D / EPC, RPP = NT / CPR;
    const int chunk = threadIdx.x % CPR;
#pragma unroll
    for (int pass = 0; pass < (ROWS + RPP - 1) / RPP; ++pass) {
        int r = threadIdx.x / CPR + pass * RPP;
        if (r < ROWS) {
            bool ok = valid(r);
            cp_async16(dst + r * LDS + chunk * EPC, src + (ok ? off(r) : 0) + chunk * EPC, ok);
        }
    }
}

// Group coordinates x of row r of a box of shape `tile` at lo, clipped at hi: true iff inside.
__device__ __forceinline__ bool box_coords(int r, const int* tile, const int* lo, const int* hi, int* x) {
    int rc[3];
    unflatten(r, tile, rc);
    bool ok = true;
#pragma unroll
    for (int a = 0; a < 3; ++a) {
        x[a] = lo[a] + rc[a];
        ok &= x[a] < hi[a];
    }
    return ok;
}

// Origin of tile j of the nt[0] x nt[1] x nt[2] tiles of shape `tile` from start.
__device__ __forceinline__ void tile_origin(int j, const int* nt, const int* start, const int* tile, int* origin) {
    int tj[3];
    unflatten(j, nt, tj);
#pragma unroll
    for (int a = 0; a < 3; ++a) origin[a] = start[a] + tj[a] * tile[a];
}

// Whether the element at packed tile-local coordinates pk (c0 | c1 << 8 | c2 << 16) of a tile at
// origin lies in the dilation group (lengths lg).
__device__ __forceinline__ bool packed_in(int pk, const int* lg, const int* origin) {
    return (pk & 255) < lg[0] - origin[0] && ((pk >> 8) & 255) < lg[1] - origin[1] && (pk >> 16) < lg[2] - origin[2];
}

// The step of a loop over tiles j = 0 .. n-1 whose operands cp.async loads into STAGES shared
// stages (load(j, stage); tile 0 issued and committed before the loop): with 2 stages tile j + 1 is
// issued into the other stage before waiting for tile j; with 1, tile j is issued now into the one
// stage (free: the loop body ends with a barrier). Ends with the barrier that makes tile j visible
// to every thread and returns its stage.
template <int STAGES, typename Load>
__device__ __forceinline__ int await_tile(int j, int n, Load load) {
    static_assert(STAGES == 1 || STAGES == 2, "one or two stages");
    if (STAGES == 2 && j + 1 < n) {
        load(j + 1, (j + 1) & 1);
        cp_async_commit();
        cp_async_wait<1>();
    } else {
        if (STAGES == 1 && j > 0) {
            load(j, 0);
            cp_async_commit();
        }
        cp_async_wait<0>();
    }
    __syncthreads();
    return STAGES == 2 ? j & 1 : 0;
}

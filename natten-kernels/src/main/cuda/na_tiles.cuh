// What the tensor-core forward and backward share about their tiles: shared-memory tiles of rows
// filled by cp.async, the coordinates of a box's rows, the origins of the tiles they iterate and
// the test of a tile's element against its dilation group.
#pragma once
#include "na_mma.cuh"

// Shared row stride of a tile of rows of `elems` elements: padded by one 16-byte chunk (ldmatrix
// rows then hit distinct banks).
template <typename T, int elems>
constexpr int lds = elems + MmaOps<T>::EPC;

// Where a tile of rows of D elements keeps row r's 16-byte chunk c (offset in elements): padded
// rows (row stride lds<T, D>, for ldmatrix).
template <typename T, int D>
struct PaddedRows {
    static __device__ __forceinline__ int offset(int r, int c) { return r * lds<T, D> + c * MmaOps<T>::EPC; }
};

// Loads ROWS rows of D elements of N tensors with the same layout (K and V, Q and dO) by cp.async
// into dst[i] (rows placed by Layout), NT threads from thread index T0: row r of each from element
// offset tile + row(r) * rowStride of src[i] if valid(r), else zero-filled. The tensors share each
// row's test and offset; an address costs one wide multiply-add (row(r) an int: a token offset
// within a tile; a long long works too, at the price of a 64-bit multiply).
template <typename T, int D, int ROWS, int NT, typename Layout = PaddedRows<T, D>, int T0 = 0, int N, typename Valid,
          typename Row>
__device__ __forceinline__ void load_rows(T* const (&dst)[N], const T* const (&src)[N], long long tile, int rowStride,
                                          Valid valid, Row row) {
    constexpr int EPC = MmaOps<T>::EPC, CPR = D / EPC, RPP = NT / CPR;
    static_assert(ROWS % RPP == 0, "whole load passes");
    const unsigned thread = threadIdx.x - T0;
    const int chunk = thread % CPR;
    const int strideBytes = rowStride * static_cast<int>(sizeof(T));
    const char* first = reinterpret_cast<const char*>(src[0] + tile + chunk * EPC);
#pragma unroll
    for (int pass = 0; pass < ROWS / RPP; ++pass) {
        const int r = thread / CPR + pass * RPP;
        const bool ok = valid(r);
        // an invalid row reads nothing (zero fill) but still gets an address inside the tensor
        const char* at = ok ? first + row(r) * static_cast<long long>(strideBytes) : reinterpret_cast<const char*>(src[0]);
#pragma unroll
        for (int i = 0; i < N; ++i)  // the others at their distance from src[0]
            cp_async16(dst[i] + Layout::offset(r, chunk),
                       at + (reinterpret_cast<const char*>(src[i]) - reinterpret_cast<const char*>(src[0])), ok);
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

// Division by a divisor n >= 1 fixed per CTA, without a division instruction in the loops: for
// 0 <= j < 2^31, q = umulhi(j + 1, m) with m = floor((2^32 - 1) / n) is floor(j / n) or one less
// (with j + 1 = qn + s + 1, 1 <= s + 1 <= n, the product falls short of (j + 1) / n by less than
// (j + 1) / 2^32 < 1 / 2), fixed by comparing the remainder with n. A few instructions instead of
// a division's twenty-odd; one 32-bit register per divisor.
struct FastDiv {
    uint32_t m;
    int n;
    __device__ __forceinline__ explicit FastDiv(int divisor) : m(0xffffffffu / divisor), n(divisor) {}
    // j / n, with j % n in rem.
    __device__ __forceinline__ int div(int j, int& rem) const {
        int q = static_cast<int>(__umulhi(static_cast<uint32_t>(j) + 1u, m));
        rem = j - q * n;
        if (rem >= n) {
            ++q;
            rem -= n;
        }
        return q;
    }
};

// The tiles a CTA walks: count[0] x count[1] x count[2] tiles in row-major order, split into per-axis
// indices by FastDiv.
struct TileGrid {
    FastDiv c1, c2;
    __device__ __forceinline__ explicit TileGrid(const int* count) : c1(count[1]), c2(count[2]) {}
    __device__ __forceinline__ void split(int j, int* t) const { t[0] = c1.div(c2.div(j, t[2]), t[1]); }
};

// Origin of tile j of a grid of tiles of shape `tile` from start.
__device__ __forceinline__ void tile_origin(int j, const TileGrid& grid, const int* start, const int* tile,
                                            int* origin) {
    int tj[3];
    grid.split(j, tj);
#pragma unroll
    for (int a = 0; a < 3; ++a) origin[a] = start[a] + tj[a] * tile[a];
}

// The bound packed_in tests the elements of a tile at origin against, in a dilation group of
// lengths lg: field a (10 bits, as pack_coords) holds 511 + lim_a, lim_a = lg_a - origin_a
// clamped to [0, 256].
__device__ __forceinline__ int packed_bound(const int* lg, const int* origin) {
    int bound = 0;
#pragma unroll
    for (int a = 0; a < 3; ++a) bound |= (511 + min(max(lg[a] - origin[a], 0), 256)) << (10 * a);
    return bound;
}

// Whether the element at packed tile-local coordinates pk lies in the group: c_a < lim_a on every
// axis, by one subtraction. Field a of bound - pk is 512 + (lim_a - 1 - c_a), in [448, 767] for
// c_a < 64 (so no borrow crosses fields), and keeps its bit 9 iff c_a <= lim_a - 1.
__device__ __forceinline__ bool packed_in(int pk, int bound) {
    constexpr int GUARDS = (1 << 9) | (1 << 19) | (1 << 29);
    return ((bound - pk) & GUARDS) == GUARDS;
}

// The backward kernels' CTA: its dilation group g (blockIdx.x / tiles per group), the group
// lengths lg, its box [r0, r1) of p.tq rows per axis and the boxes of p.tkv it walks, count per
// axis from start, covering the union of its rows' windows (INVERSE: inverse windows). False when
// the box lies past the end of a shorter group (a uniform exit: nothing to do).
template <bool INVERSE>
__device__ __forceinline__ bool cta_tiles(const NaParams& p, int* g, int* lg, int* r0, int* r1, int* start,
                                          int* count) {
    const int tilesPerGroup = p.tiles[0] * p.tiles[1] * p.tiles[2];
    int ti[3];
    unflatten(blockIdx.x / tilesPerGroup, p.dil, g);
    unflatten(blockIdx.x % tilesPerGroup, p.tiles, ti);
#pragma unroll
    for (int a = 0; a < 3; ++a) {
        lg[a] = group_length(p.L[a], p.dil[a], g[a]);
        r0[a] = ti[a] * p.tq[a];
        if (r0[a] >= lg[a]) return false;
        r1[a] = min(r0[a] + p.tq[a], lg[a]);
        int lo0, hi0, lo1, hi1;
        side_window<INVERSE>(r0[a], lg[a], p.ks[a], p.str[a], p.causal[a], lo0, hi0);
        side_window<INVERSE>(r1[a] - 1, lg[a], p.ks[a], p.str[a], p.causal[a], lo1, hi1);
        start[a] = lo0;
        count[a] = (hi1 - lo0 + p.tkv[a] - 1) / p.tkv[a];
    }
    return true;
}

// Ints per row of the backward kernels' row tables (fill_row_windows).
constexpr int ROW_INTS = 7;

// The row table of the box [r0, r1) of p.tq rows of dilation group g: rows[r * ROW_INTS + a] and
// rows[r * ROW_INTS + 3 + a], the window (INVERSE: inverse window) of row r on axis a, and
// rows[r * ROW_INTS + 6] its token (token_of); rows past the box get an empty window and token -1.
template <bool INVERSE, int ROWS, int NT>
__device__ __forceinline__ void fill_row_windows(int* rows, const NaParams& p, const int* r0, const int* r1,
                                                 const int* lg, const int* g, int tid) {
    for (int r = tid; r < ROWS; r += NT) {
        int x[3];
        const bool ok = box_coords(r, p.tq, r0, r1, x);
        int* row = rows + r * ROW_INTS;
#pragma unroll
        for (int a = 0; a < 3; ++a)
            side_window<INVERSE>(min(x[a], lg[a] - 1), lg[a], p.ks[a], p.str[a], p.causal[a], row[a], row[3 + a]);
        if (!ok) row[3] = row[0];
        row[6] = ok ? token_of(p, x, g) : -1;
    }
}

// packed[c] (pack_coords) and off[c] (token offset from the box origin: token_of is
// linear in the coordinates) of element c of a walked box of p.tkv.
template <int ROWS, int NT>
__device__ __forceinline__ void fill_tile_table(int* packed, int* off, const NaParams& p, int tid) {
    for (int c = tid; c < ROWS; c += NT) {
        int kc[3];
        unflatten(c, p.tkv, kc);
        packed[c] = pack_coords(kc);
        off[c] = (kc[0] * p.dil[0] * p.L[1] + kc[1] * p.dil[1]) * p.L[2] + kc[2] * p.dil[2];
    }
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

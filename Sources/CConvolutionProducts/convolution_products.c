#include "convolution_products.h"

// Products and sums round one at a time, as in Swift, unless an intrinsic
// asks for a fused multiply-add.
#pragma clang fp contract(off)

// One register tile: up to 24 accumulators of AVX-512's 32 registers, 6 rows
// of c × 4 vectors of 16 columns, or 8 rows × 2 vectors where c is at most
// 32 columns wide and a's rows lie next to each other (12 rows measured
// slower in both layouts; 8 rather than 6 is faster only where a's rows
// are not a page apart, since each such row takes an L1 way of one set). Per step of p it loads the tile's row of b and broadcasts
// one value of a per row: a's rows are read where they lie, with any
// strides, so the transformed tiles need no packing.
enum { ROWS = 6, NARROW_ROWS = 8, VECTORS = 4, LANES = 16, PANEL = VECTORS * LANES, DEPTH = 128 };

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f")))

bool simba_strided_products_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

// Inlined with constant rows and vectors, so the loops unroll into registers;
// `last` masks the columns of the last vector that lie beyond n.
static inline __attribute__((always_inline)) AVX512 void
register_tile(const int rows, const int vectors, __mmask16 last, long k, const float *a, long a_row, long a_depth,
              const float *b, long ldb, float *c, long ldc, bool accumulate) {
    __m512 sum[NARROW_ROWS][VECTORS];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vectors; v++) sum[r][v] = _mm512_setzero_ps();
    for (long p = 0; p < k; p++) {
        __m512 row[VECTORS];
        for (int v = 0; v < vectors; v++)
            row[v] = _mm512_maskz_loadu_ps(v == vectors - 1 ? last : 0xFFFF, b + p * ldb + v * LANES);
        for (int r = 0; r < rows; r++) {
            __m512 value = _mm512_set1_ps(a[r * a_row + p * a_depth]);
            for (int v = 0; v < vectors; v++) sum[r][v] = _mm512_fmadd_ps(value, row[v], sum[r][v]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vectors; v++) {
            __mmask16 mask = v == vectors - 1 ? last : 0xFFFF;
            float *target = c + r * ldc + v * LANES;
            __m512 result = accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(mask, target), sum[r][v]) : sum[r][v];
            _mm512_mask_storeu_ps(target, mask, result);
        }
}

#define TILE(R, V) \
    case (R) * 8 + (V): \
        register_tile(R, V, last, k, a, a_row, a_depth, b, ldb, c, ldc, accumulate); \
        break;
#define TILES(R) TILE(R, 1) TILE(R, 2) TILE(R, 3) TILE(R, 4)
#define NARROW_TILES(R) TILE(R, 1) TILE(R, 2)

// One register tile, dispatched to its inlined size.
static AVX512 void tile(int rows, int vectors, __mmask16 last, long k, const float *a, long a_row, long a_depth,
                        const float *b, long ldb, float *c, long ldc, bool accumulate) {
    switch (rows * 8 + vectors) {
        TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6)
        NARROW_TILES(7) NARROW_TILES(8)
        default: __builtin_unreachable();
    }
}

AVX512 void simba_strided_products(long m, long n, long k, const float *a, long a_row, long a_depth,
                                   const float *b, long ldb, float *c, long ldc, bool accumulate) {
    // A panel of b (up to DEPTH × 64) serves every tile down the rows before
    // the next panel: it stays in L1 while a's rows stream past it. Rows of
    // b a page or more apart (the tiles' stride in dV += Uᵀ dM) would all
    // fall into the same cache sets, so such a panel is first copied
    // together. Each panel's sums start from zero and are then added to c:
    // a sum over thousands of voxels (a kernel gradient) is two short
    // chains rather than one long one, whose running total would grow and
    // carry the rounding of every step.
    bool pack = ldb >= 1024;
    long depth = k < DEPTH ? k : DEPTH;
    float *panel = pack ? aligned_alloc(64, (size_t)(depth > 0 ? depth : 1) * PANEL * sizeof(float)) : NULL;
    for (long j = 0; j < n; j += PANEL) {
        long width = n - j < PANEL ? n - j : PANEL;
        int vectors = (int)((width + LANES - 1) / LANES);
        int tail = (int)(width % LANES);
        __mmask16 last = tail == 0 ? (__mmask16)0xFFFF : (__mmask16)((1u << tail) - 1);
        // Narrow tiles take more rows, where a's rows lie in one cache line.
        int most = vectors <= 2 && a_row == 1 ? NARROW_ROWS : ROWS;
        for (long p = 0; p < k || p == 0; p += DEPTH) {
            long steps = k - p < DEPTH ? k - p : DEPTH;
            const float *rows_of_b = b + p * ldb + j;
            long stride = ldb;
            if (panel) {
                for (long q = 0; q < steps; q++)
                    memcpy(panel + q * PANEL, rows_of_b + q * ldb, (size_t)width * sizeof(float));
                rows_of_b = panel;
                stride = PANEL;
            }
            for (long i = 0; i < m; i += most) {
                int rows = m - i < most ? (int)(m - i) : most;
                tile(rows, vectors, last, steps, a + i * a_row + p * a_depth, a_row, a_depth, rows_of_b, stride,
                     c + i * ldc + j, ldc, accumulate || p > 0);
            }
        }
    }
    free(panel);
}

// MARK: Winograd tile transforms, 16 channels per vector

// One line of four values along an axis (Conv3DWinograd.swift's inputLine,
// inputTransposeLine, outputLine, outputTransposeLine, kernelLine and
// kernelTransposeLine). Each product or sum is its own rounding step, as in
// Swift: no multiply-add is fused.
typedef enum {
    INPUT_LINE, INPUT_TRANSPOSE_LINE, OUTPUT_LINE, OUTPUT_TRANSPOSE_LINE, KERNEL_LINE, KERNEL_TRANSPOSE_LINE
} line_kind;

static inline __attribute__((always_inline)) AVX512 void
transform_line(line_kind kind, __m512 *a, __m512 *b, __m512 *c, __m512 *d) {
    __m512 d0 = *a, d1 = *b, d2 = *c, d3 = *d, zero = _mm512_setzero_ps(), half = _mm512_set1_ps(0.5f);
    switch (kind) {
    case INPUT_LINE:
        *a = d0 - d2; *b = d1 + d2; *c = d2 - d1; *d = d1 - d3; break;
    case INPUT_TRANSPOSE_LINE:
        *a = d0; *b = (d1 - d2) + d3; *c = (d1 + d2) - d0; *d = zero - d3; break;
    case OUTPUT_LINE:
        *a = (d0 + d1) + d2; *b = (d1 - d2) - d3; *c = zero; *d = zero; break;
    case OUTPUT_TRANSPOSE_LINE:
        *a = d0; *b = d0 + d1; *c = d0 - d1; *d = zero - d1; break;
    case KERNEL_LINE: {
        __m512 outer = _mm512_mul_ps(half, d0 + d2), middle = _mm512_mul_ps(half, d1);
        *a = d0; *b = outer + middle; *c = outer - middle; *d = d2; break;
    }
    case KERNEL_TRANSPOSE_LINE: {
        __m512 sum = _mm512_mul_ps(half, d1 + d2);
        *a = d0 + sum; *b = _mm512_mul_ps(half, d1 - d2); *c = sum + d3; *d = zero; break;
    }
    }
}

// The three passes over a 4×4×4 block of vectors t[(x·4 + y)·4 + z] holding
// `from` entries per axis (zero beyond): along z, then y, then x.
static inline __attribute__((always_inline)) AVX512 void
transform_block(line_kind kind, int from, int to, __m512 *t) {
    for (int x = 0; x < from; x++)
        for (int y = 0; y < from; y++) {
            __m512 *row = t + x * 16 + y * 4;
            transform_line(kind, row, row + 1, row + 2, row + 3);
        }
    for (int x = 0; x < from; x++)
        for (int z = 0; z < to; z++) {
            __m512 *column = t + x * 16 + z;
            transform_line(kind, column, column + 4, column + 8, column + 12);
        }
    for (int y = 0; y < to; y++)
        for (int z = 0; z < to; z++) {
            __m512 *pillar = t + y * 4 + z;
            transform_line(kind, pillar, pillar + 16, pillar + 32, pillar + 48);
        }
}

static inline __attribute__((always_inline)) int inside(simba_tile_block block, int i, int j, int k) {
    return i >= block.lo[0] && i < block.hi[0] && j >= block.lo[1] && j < block.hi[1] && k >= block.lo[2]
        && k < block.hi[2];
}

static inline __attribute__((always_inline)) long voxel(simba_tile_block block, int i, int j, int k) {
    return block.corner + i * block.x_stride + j * block.y_stride + k * block.channels;
}

static inline __attribute__((always_inline)) __mmask16 lanes(long channels, long c) {
    long count = channels - c < LANES ? channels - c : LANES;
    return count == LANES ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
}

// Tiles run along z, lines of tiles along y: the tile one line further
// reads (or writes) the block's planes y + extent and y + extent + 1, and
// its last two z entries are the ones no earlier tile of this line had.
// Those voxels' lines are asked for now, a line of tiles ahead: the
// hardware prefetchers do not follow these sixteen streams at once
// (measured with the block kernels, Sources/CBlockFusion).
static inline __attribute__((always_inline)) void
prefetch_next_line(int extent, bool writing, const float *volume, simba_tile_block block, long c) {
    for (int x = 0; x < extent; x++)
        for (int y = extent; y < extent + 2; y++)
            for (int z = extent - 2; z < extent; z++) {
                const char *line = (const char *)(volume + voxel(block, x, y, z) + c);
                if (writing) _mm_prefetch(line, _MM_HINT_ET0); else _mm_prefetch(line, _MM_HINT_T0);
            }
}

// Into the transformed domain: the block's `from`³ entries, zero outside
// the volume, through `kind` into the tile's 64 points.
static inline __attribute__((always_inline)) AVX512 void
into_tile(line_kind kind, int from, bool prefetch, const float *volume, simba_tile_block block, float *tile) {
    __m512 t[64];
    for (long c = 0; c < block.channels; c += LANES) {
        __mmask16 mask = lanes(block.channels, c);
        if (prefetch) prefetch_next_line(from, false, volume, block, c);
        for (int x = 0; x < 4; x++)
            for (int y = 0; y < 4; y++)
                for (int z = 0; z < 4; z++)
                    t[x * 16 + y * 4 + z] = x < from && y < from && z < from && inside(block, x, y, z)
                        ? _mm512_maskz_loadu_ps(mask, volume + voxel(block, x, y, z) + c)
                        : _mm512_setzero_ps();
        transform_block(kind, from, 4, t);
        for (int point = 0; point < 64; point++) _mm512_mask_storeu_ps(tile + point * block.channels + c, mask, t[point]);
    }
}

// Out of the transformed domain: the tile's 64 points through `kind` into
// the block's `to`³ entries inside the volume, stored or added.
static inline __attribute__((always_inline)) AVX512 void
out_of_tile(line_kind kind, int to, bool adding, bool prefetch, const float *tile, simba_tile_block block,
            float *volume) {
    __m512 t[64];
    for (long c = 0; c < block.channels; c += LANES) {
        __mmask16 mask = lanes(block.channels, c);
        for (int point = 0; point < 64; point++) t[point] = _mm512_maskz_loadu_ps(mask, tile + point * block.channels + c);
        if (prefetch) prefetch_next_line(to, true, volume, block, c);
        transform_block(kind, 4, to, t);
        for (int x = 0; x < to; x++)
            for (int y = 0; y < to; y++)
                for (int z = 0; z < to; z++) {
                    if (!inside(block, x, y, z)) continue;
                    float *target = volume + voxel(block, x, y, z) + c;
                    __m512 value = t[x * 16 + y * 4 + z];
                    if (adding) value = _mm512_maskz_loadu_ps(mask, target) + value;
                    _mm512_mask_storeu_ps(target, mask, value);
                }
    }
}

AVX512 void simba_winograd_input_tile(const float *volume, simba_tile_block block, float *tile) {
    into_tile(INPUT_LINE, 4, true, volume, block, tile);
}

AVX512 void simba_winograd_output_gradient_tile(const float *volume, simba_tile_block block, float *tile) {
    into_tile(OUTPUT_TRANSPOSE_LINE, 2, true, volume, block, tile);
}

AVX512 void simba_winograd_output_tile(const float *tile, simba_tile_block block, float *volume) {
    out_of_tile(OUTPUT_LINE, 2, false, true, tile, block, volume);
}

AVX512 void simba_winograd_input_gradient_tile(const float *tile, simba_tile_block block, float *volume) {
    out_of_tile(INPUT_TRANSPOSE_LINE, 4, true, true, tile, block, volume);
}

// A kernel [27][length] is one 3×3×3 block whose `length` entries per tap
// play the channels' part, and [64][length] is its tile.
static simba_tile_block kernel_block(long length) {
    return (simba_tile_block){0, 9 * length, 3 * length, length, {0, 0, 0}, {3, 3, 3}};
}

AVX512 void simba_winograd_kernel(const float *kernel, long length, float *transformed) {
    into_tile(KERNEL_LINE, 3, false, kernel, kernel_block(length), transformed);
}

AVX512 void simba_winograd_add_kernel_gradient(const float *transformed, long length, float *kernel) {
    out_of_tile(KERNEL_TRANSPOSE_LINE, 3, true, false, transformed, kernel_block(length), kernel);
}

#else

bool simba_strided_products_available(void) { return false; }

// Not called (unavailable here); the same sums as plain loops all the same.
void simba_strided_products(long m, long n, long k, const float *a, long a_row, long a_depth,
                            const float *b, long ldb, float *c, long ldc, bool accumulate) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            float total = accumulate ? c[i * ldc + j] : 0;
            for (long p0 = 0; p0 < k; p0 += DEPTH) {
                float sum = 0;
                for (long p = p0; p < k && p < p0 + DEPTH; p++)
                    sum = __builtin_fmaf(a[i * a_row + p * a_depth], b[p * ldb + j], sum);
                total = p0 == 0 && !accumulate ? sum : total + sum;
            }
            c[i * ldc + j] = k == 0 && !accumulate ? 0 : total;
        }
}

// Not called (unavailable here).
void simba_winograd_input_tile(const float *volume, simba_tile_block block, float *tile) { __builtin_trap(); }
void simba_winograd_output_gradient_tile(const float *volume, simba_tile_block block, float *tile) { __builtin_trap(); }
void simba_winograd_output_tile(const float *tile, simba_tile_block block, float *volume) { __builtin_trap(); }
void simba_winograd_input_gradient_tile(const float *tile, simba_tile_block block, float *volume) { __builtin_trap(); }
void simba_winograd_kernel(const float *kernel, long length, float *transformed) { __builtin_trap(); }
void simba_winograd_add_kernel_gradient(const float *transformed, long length, float *kernel) { __builtin_trap(); }

#endif

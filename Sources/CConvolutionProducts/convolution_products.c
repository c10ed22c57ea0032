#include "convolution_products.h"

// One register tile: up to 24 accumulators of AVX-512's 32 registers, 6 rows
// of c × 4 vectors of 16 columns, or 12 rows × 2 vectors where c is at most
// 32 columns wide. Per step of p it loads the tile's row of b and broadcasts
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
        for (int v = 0; v < vectors; v++)
            sum[r][v] = accumulate ? _mm512_maskz_loadu_ps(v == vectors - 1 ? last : 0xFFFF, c + r * ldc + v * LANES)
                                   : _mm512_setzero_ps();
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
        for (int v = 0; v < vectors; v++)
            _mm512_mask_storeu_ps(c + r * ldc + v * LANES, v == vectors - 1 ? last : 0xFFFF, sum[r][v]);
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
    // together. A panel after the first continues the sums from c, which
    // holds them exactly as floats, so blocking does not change the result.
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

#else

bool simba_strided_products_available(void) { return false; }

// Not called (unavailable here); the same sums as plain loops all the same.
void simba_strided_products(long m, long n, long k, const float *a, long a_row, long a_depth,
                            const float *b, long ldb, float *c, long ldc, bool accumulate) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            float sum = accumulate ? c[i * ldc + j] : 0;
            for (long p = 0; p < k; p++) sum = __builtin_fmaf(a[i * a_row + p * a_depth], b[p * ldb + j], sum);
            c[i * ldc + j] = sum;
        }
}

#endif

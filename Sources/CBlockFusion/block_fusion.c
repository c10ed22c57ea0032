#include "block_fusion.h"

// Products and sums round one at a time, as in Swift: no multiply-add is fused.
#pragma clang fp contract(off)

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))
enum { LANES = 16, PARTIAL_SUM_ROWS = 64 };

// These passes stream hundreds of megabytes (block 1's convolution output
// at 1 mm is 1.4 GB), a cache line per 16 channels of a voxel, on several
// lines of the volume at once (a window's cells lie on four) and one group
// of 16 channels at a time. Measured at 64³ × 32 channels on this project's
// machine, the hardware prefetchers did not keep up: the window passes ran
// about twice as fast when each window asked for the cells of the window
// one row of windows further along y (2·z voxels ahead), and the pass along
// lines 3–4× as fast asking for the voxel AHEAD rows ahead. Nearer
// distances for the window passes (16–48 voxels) gained less.
enum { AHEAD = 32 };

INLINE __mmask16 lanes(long channels, long c) {
    long count = channels - c < LANES ? channels - c : LANES;
    return count == LANES ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
}

INLINE AVX512 __m512 load(const float *p, __mmask16 mask) { return _mm512_maskz_loadu_ps(mask, p); }
INLINE void prefetch(const float *p) { _mm_prefetch((const char *)p, _MM_HINT_T0); }
INLINE AVX512 void store(float *p, __mmask16 mask, __m512 v) { _mm512_mask_storeu_ps(p, mask, v); }
INLINE AVX512 __m512 splat(float value) { return _mm512_set1_ps(value); }

// where `mask`: replacement, elsewhere x (Swift's replacing(with:where:)).
INLINE AVX512 __m512 replacing(__m512 x, __mmask16 mask, __m512 replacement) {
    return _mm512_mask_blend_ps(mask, x, replacement);
}

// ChannelLanes.swift's exponential: Cephes's expf, the same steps.
INLINE AVX512 __m512 exponential(__m512 x) {
    __m512 clamped = replacing(x, _mm512_cmp_ps_mask(x, splat(-87), _CMP_LT_OQ), splat(-87));
    clamped = replacing(clamped, _mm512_cmp_ps_mask(clamped, splat(88), _CMP_GT_OQ), splat(88));
    __m512 magic = splat(12582912.0f);
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(clamped, splat(1.44269504f)), magic);
    __m512 n = _mm512_sub_ps(shifted, magic);
    __m512 r = _mm512_add_ps(_mm512_sub_ps(clamped, _mm512_mul_ps(n, splat(0.693359375f))),
                             _mm512_mul_ps(n, splat(2.1219444e-4f)));
    __m512 p = splat(1.98756915e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), splat(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), splat(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), splat(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), splat(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), splat(5.0000001201e-1f));
    __m512 exp_r = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, r), r), r), splat(1));
    __m512i bits = _mm512_castps_si512(shifted);
    __m512i exponent = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(bits, _mm512_set1_epi32(0x4B400000)), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(exp_r, _mm512_castsi512_ps(exponent));
}

INLINE AVX512 __m512 activate(simba_activation activation, __m512 y) {
    if (activation == SIMBA_RELU) return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), y);
    __m512 negated = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(y), _mm512_set1_epi32((int)0x80000000)));
    return _mm512_div_ps(splat(1), _mm512_add_ps(splat(1), exponential(negated)));
}

// The activation's derivative through its output s.
INLINE AVX512 __m512 derivative(simba_activation activation, __m512 s) {
    if (activation == SIMBA_RELU) return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_GT_OQ), splat(1));
    return _mm512_mul_ps(s, _mm512_sub_ps(splat(1), s));
}

// Adds a block's float partial sums to the doubles, lane by lane.
INLINE AVX512 void add_partial_sums(double *sums, long channels, long c, long count, __m512 first, __m512 second) {
    float a[LANES], b[LANES];
    _mm512_storeu_ps(a, first);
    _mm512_storeu_ps(b, second);
    for (long i = 0; i < count; i++) {
        sums[c + i] += (double)a[i];
        sums[channels + c + i] += (double)b[i];
    }
}

// The input rows of window (ox, oy, oz) of the sample starting at row
// `base`, in PoolGeometry.forEachWindow's order; returns how many.
INLINE int window_cells(simba_pool_geometry g, long base, long ox, long oy, long oz, long *cells) {
    long x1 = 2 * ox + 2 < g.x ? 2 * ox + 2 : g.x, y1 = 2 * oy + 2 < g.y ? 2 * oy + 2 : g.y;
    long z1 = 2 * oz + 2 < g.z ? 2 * oz + 2 : g.z;
    int count = 0;
    for (long ix = 2 * ox; ix < x1; ix++)
        for (long iy = 2 * oy; iy < y1; iy++)
            for (long iz = 2 * oz; iz < z1; iz++) cells[count++] = base + (ix * g.y + iy) * g.z + iz;
    return count;
}

// body(output_row, cells, count) for every window, as forEachWindow.
// (body may use out_z, the windows along z.)
#define FOR_EACH_WINDOW(g, output_row, cells, count, ...)                                                   \
    do {                                                                                                      \
        long output_row = 0, cells[8];                                                                        \
        long out_x = (g.x + 1) / 2, out_y = (g.y + 1) / 2, out_z = (g.z + 1) / 2;                             \
        for (long sample = 0; sample < g.batch; sample++)                                                     \
            for (long ox = 0; ox < out_x; ox++)                                                               \
                for (long oy = 0; oy < out_y; oy++)                                                           \
                    for (long oz = 0; oz < out_z; oz++, output_row++) {                                       \
                        int count = window_cells(g, sample * g.sample_stride + g.offset, ox, oy, oz, cells); \
                        __VA_ARGS__                                                                           \
                    }                                                                                         \
    } while (0)

AVX512 void simba_normalize_activate_pool_forward(float *pooled, float *winner, float *winner_input,
                                                  const float *conv, const float *scale, const float *shift,
                                                  simba_activation activation, simba_pool_geometry g) {
    long channels = g.channels;
    FOR_EACH_WINDOW(g, row, cells, count, {
        for (long c = 0; c < channels; c += LANES) {
            __mmask16 mask = lanes(channels, c);
            __m512 a = load(scale + c, mask), b = load(shift + c, mask);
            __m512 best_input = load(conv + cells[0] * channels + c, mask);
            __m512 best = _mm512_add_ps(_mm512_mul_ps(a, best_input), b);
            __m512 won = _mm512_setzero_ps();
            for (int cell = 0; cell < count; cell++) prefetch(conv + (cells[cell] + 2 * g.z) * channels + c);
            for (int cell = 1; cell < count; cell++) {
                __m512 x = load(conv + cells[cell] * channels + c, mask);
                __m512 y = _mm512_add_ps(_mm512_mul_ps(a, x), b);
                __mmask16 better = _mm512_cmp_ps_mask(y, best, _CMP_GT_OQ);
                best = replacing(best, better, y);
                best_input = replacing(best_input, better, x);
                won = replacing(won, better, splat((float)cell));
            }
            long offset = row * channels + c;
            store(pooled + offset, mask, activate(activation, best));
            store(winner + offset, mask, won);
            store(winner_input + offset, mask, best_input);
        }
    });
}

// The lines of the pooled arrays a window reads.
INLINE void prefetch_pooled(const float *d_pooled, const float *pooled, const float *winner, long offset) {
    prefetch(d_pooled + offset);
    prefetch(pooled + offset);
    prefetch(winner + offset);
}

// dL/dy at a window's winner.
INLINE AVX512 __m512 winner_gradient(simba_activation activation, const float *d_pooled, const float *pooled,
                                     long offset, __mmask16 mask) {
    return _mm512_mul_ps(load(d_pooled + offset, mask), derivative(activation, load(pooled + offset, mask)));
}

AVX512 void simba_pooled_gradient_sums(double *sums, const float *d_pooled, const float *pooled,
                                       const float *winner_input, const float *mean, const float *inverse_std,
                                       simba_activation activation, long rows, long channels) {
    for (long first = 0; first < rows; first += PARTIAL_SUM_ROWS) {
        long last = first + PARTIAL_SUM_ROWS < rows ? first + PARTIAL_SUM_ROWS : rows;
        for (long c = 0; c < channels; c += LANES) {
            __mmask16 mask = lanes(channels, c);
            __m512 m = load(mean + c, mask), istd = load(inverse_std + c, mask);
            __m512 sum_dy = _mm512_setzero_ps(), sum_dy_normalized = _mm512_setzero_ps();
            for (long row = first; row < last; row++) {
                long offset = row * channels + c;
                prefetch_pooled(d_pooled, pooled, winner_input, offset + AHEAD * channels);
                __m512 dy = winner_gradient(activation, d_pooled, pooled, offset, mask);
                sum_dy = _mm512_add_ps(sum_dy, dy);
                __m512 normalized = _mm512_mul_ps(_mm512_sub_ps(load(winner_input + offset, mask), m), istd);
                sum_dy_normalized = _mm512_add_ps(sum_dy_normalized, _mm512_mul_ps(dy, normalized));
            }
            add_partial_sums(sums, channels, c, channels - c < LANES ? channels - c : LANES, sum_dy,
                             sum_dy_normalized);
        }
    }
}

AVX512 void simba_normalize_activate_pool_input_gradient(float *d_conv, const float *d_pooled, const float *pooled,
                                                         const float *winner, const float *conv,
                                                         const float *from_input, const float *constant,
                                                         const float *from_dy, simba_activation activation,
                                                         simba_pool_geometry g) {
    long channels = g.channels;
    FOR_EACH_WINDOW(g, row, cells, count, {
        for (long c = 0; c < channels; c += LANES) {
            __mmask16 mask = lanes(channels, c);
            __m512 a = load(from_input + c, mask), b = load(constant + c, mask);
            long offset = row * channels + c;
            __m512 won = load(winner + offset, mask);
            __m512 at_winner = _mm512_mul_ps(load(from_dy + c, mask),
                                             winner_gradient(activation, d_pooled, pooled, offset, mask));
            prefetch_pooled(d_pooled, pooled, winner, offset + out_z * channels);
            for (int cell = 0; cell < count; cell++) prefetch(conv + (cells[cell] + 2 * g.z) * channels + c);
            for (int cell = 0; cell < count; cell++) {
                long cell_offset = cells[cell] * channels + c;
                __m512 d = _mm512_add_ps(_mm512_mul_ps(a, load(conv + cell_offset, mask)), b);
                __mmask16 here = _mm512_cmp_ps_mask(won, splat((float)cell), _CMP_EQ_OQ);
                store(d_conv + cell_offset, mask, replacing(d, here, _mm512_add_ps(d, at_winner)));
            }
        }
    });
}

AVX512 void simba_normalize_activate_pool_input_gradient_rows(float *d_conv, long first, long count,
                                                              const float *d_pooled, const float *pooled,
                                                              const float *winner, const float *conv,
                                                              const float *from_input, const float *constant,
                                                              const float *from_dy, simba_activation activation,
                                                              simba_pool_geometry g) {
    long channels = g.channels, voxels = g.x * g.y * g.z;
    long out_x = (g.x + 1) / 2, out_y = (g.y + 1) / 2, out_z = (g.z + 1) / 2;
    for (long row = first; row < first + count;) {
        long sample = row / g.sample_stride, within = row % g.sample_stride - g.offset;
        if (within < 0 || within >= voxels) {
            // A slab's padding planes (the halo around its interior) get no gradient.
            long end = within < 0 ? row - within : (sample + 1) * g.sample_stride;
            if (end > first + count) end = first + count;
            memset(d_conv + (row - first) * channels, 0, (size_t)((end - row) * channels) * sizeof(float));
            row = end;
            continue;
        }
        // One run along z: sample, x and y fixed.
        long x = within / (g.y * g.z), y = within / g.z % g.y, z0 = within % g.z;
        long run = g.z - z0 < first + count - row ? g.z - z0 : first + count - row;
        long ox = x / 2, oy = y / 2;
        long y_cells = 2 * oy + 2 < g.y ? 2 : g.y - 2 * oy;
        long line_cell = (x - 2 * ox) * y_cells + (y - 2 * oy);
        long pooled_line = ((sample * out_x + ox) * out_y + oy) * out_z;
        // The run's windows along z, each with its one or two cells here.
        for (long oz = z0 / 2; oz <= (z0 + run - 1) / 2; oz++) {
            long z_cells = 2 * oz + 2 < g.z ? 2 : g.z - 2 * oz;
            long from = 2 * oz > z0 ? 2 * oz : z0, to = 2 * oz + z_cells < z0 + run ? 2 * oz + z_cells : z0 + run;
            for (long c = 0; c < channels; c += LANES) {
                __mmask16 mask = lanes(channels, c);
                long offset = (pooled_line + oz) * channels + c;
                prefetch_pooled(d_pooled, pooled, winner, offset + AHEAD / 2 * channels);
                for (long z = from; z < to; z++) prefetch(conv + (row + z - z0 + AHEAD) * channels + c);
                __m512 a = load(from_input + c, mask), b = load(constant + c, mask);
                __m512 at_winner = _mm512_mul_ps(load(from_dy + c, mask),
                                                 winner_gradient(activation, d_pooled, pooled, offset, mask));
                __m512 won = load(winner + offset, mask);
                for (long z = from; z < to; z++) {
                    float cell = (float)(line_cell * z_cells + (z - 2 * oz));
                    __m512 d = _mm512_add_ps(_mm512_mul_ps(a, load(conv + (row + z - z0) * channels + c, mask)), b);
                    __mmask16 here = _mm512_cmp_ps_mask(won, splat(cell), _CMP_EQ_OQ);
                    store(d_conv + (row - first + z - z0) * channels + c, mask,
                          replacing(d, here, _mm512_add_ps(d, at_winner)));
                }
            }
        }
        row += run;
    }
}

AVX512 void simba_batch_norm_statistics(double *sums, const float *x, long rows, long channels,
                                        const float *reference) {
    for (long first = 0; first < rows; first += PARTIAL_SUM_ROWS) {
        long last = first + PARTIAL_SUM_ROWS < rows ? first + PARTIAL_SUM_ROWS : rows;
        for (long c = 0; c < channels; c += LANES) {
            __mmask16 mask = lanes(channels, c);
            __m512 ref = load(reference + c, mask);
            __m512 sum = _mm512_setzero_ps(), sum_of_squares = _mm512_setzero_ps();
            for (long row = first; row < last; row++) {
                __m512 v = _mm512_sub_ps(load(x + row * channels + c, mask), ref);
                sum = _mm512_add_ps(sum, v);
                sum_of_squares = _mm512_add_ps(sum_of_squares, _mm512_mul_ps(v, v));
            }
            add_partial_sums(sums, channels, c, channels - c < LANES ? channels - c : LANES, sum, sum_of_squares);
        }
    }
}

#else

// Not called: the Swift kernels run where there is no AVX-512.
void simba_normalize_activate_pool_forward(float *pooled, float *winner, float *winner_input, const float *conv,
                                           const float *scale, const float *shift, simba_activation activation,
                                           simba_pool_geometry geometry) { __builtin_trap(); }
void simba_pooled_gradient_sums(double *sums, const float *d_pooled, const float *pooled, const float *winner_input,
                                const float *mean, const float *inverse_std, simba_activation activation, long rows,
                                long channels) { __builtin_trap(); }
void simba_normalize_activate_pool_input_gradient(float *d_conv, const float *d_pooled, const float *pooled,
                                                  const float *winner, const float *conv, const float *from_input,
                                                  const float *constant, const float *from_dy,
                                                  simba_activation activation, simba_pool_geometry geometry) {
    __builtin_trap();
}
void simba_normalize_activate_pool_input_gradient_rows(float *d_conv, long first, long count,
                                                       const float *d_pooled, const float *pooled, const float *winner,
                                                       const float *conv, const float *from_input,
                                                       const float *constant, const float *from_dy,
                                                       simba_activation activation, simba_pool_geometry geometry) {
    __builtin_trap();
}
void simba_batch_norm_statistics(double *sums, const float *x, long rows, long channels, const float *reference) {
    __builtin_trap();
}

#endif

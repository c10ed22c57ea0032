// Batch norm → activation → 2×2×2 max-pool of one block, fused, on AVX-512:
// the kernels of Sources/Network/BlockFusion.swift (which documents the
// method) and batch norm's statistics pass (BatchNorm.swift), 16 channels
// per vector. Each does the Swift code's arithmetic in the same order, so
// the results are bitwise the same. Call only on CPUs with AVX-512F (the
// Swift side checks); elsewhere they trap.
#ifndef SIMBA_BLOCK_FUSION_H
#define SIMBA_BLOCK_FUSION_H

/// Where a pooled block's input lies (PoolGeometry): `batch` samples of an
/// x × y × z grid, sample n's first voxel at row n·sample_stride + offset,
/// `channels` floats per row.
typedef struct {
    long batch, x, y, z, sample_stride, offset, channels;
} simba_pool_geometry;

typedef enum { SIMBA_SIGMOID, SIMBA_RELU } simba_activation;

/// pooled = act(max over the window of scale·x + shift), winner = the
/// winning cell's index within its window (as a float), winner_input = its x.
void simba_normalize_activate_pool_forward(float *pooled, float *winner, float *winner_input, const float *conv,
                                           const float *scale, const float *shift, simba_activation activation,
                                           simba_pool_geometry geometry);

/// sums [2C] += Σ dy and Σ dy·(x − mean)·inverse_std over `rows` pooled
/// rows, dy = d_pooled·act′(pooled), x = winner_input; float partial sums
/// over blocks of 64 rows, each added to the doubles.
void simba_pooled_gradient_sums(double *sums, const float *d_pooled, const float *pooled, const float *winner_input,
                                const float *mean, const float *inverse_std, simba_activation activation, long rows,
                                long channels);

/// d_conv (=) from_input·x + constant at every cell, plus from_dy·dy at the
/// window's winner.
void simba_normalize_activate_pool_input_gradient(float *d_conv, const float *d_pooled, const float *pooled,
                                                  const float *winner, const float *conv, const float *from_input,
                                                  const float *constant, const float *from_dy,
                                                  simba_activation activation, simba_pool_geometry geometry);

/// The same for buffer rows first..<first + count, written to d_conv
/// [count][C] (zero on a slab's padding rows, outside the input): a
/// convolution's backward can have its output gradient computed a chunk at
/// a time, so that it never leaves the cache.
void simba_normalize_activate_pool_input_gradient_rows(float *d_conv, long first, long count, const float *d_pooled,
                                                       const float *pooled, const float *winner, const float *conv,
                                                       const float *from_input, const float *constant,
                                                       const float *from_dy, simba_activation activation,
                                                       simba_pool_geometry geometry);

/// sums [2C] += Σ (x − reference) and Σ (x − reference)² over `rows` rows,
/// in float partial sums over blocks of 64 rows added to the doubles.
void simba_batch_norm_statistics(double *sums, const float *x, long rows, long channels, const float *reference);

#endif

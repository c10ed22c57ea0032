// The convolutions' thin matrix products on AVX-512, read where they lie
// without packing: the Winograd layers' transformed tiles
// (Sources/Network/Conv3DWinograd.swift) and the one-channel first layer's
// tap-major patches (Sources/Network/Conv3DSingleChannel.swift).
#ifndef SIMBA_CONVOLUTION_PRODUCTS_H
#define SIMBA_CONVOLUTION_PRODUCTS_H

#include <stdbool.h>

/// Whether this CPU runs simba_strided_products (AVX-512F); elsewhere the
/// layers keep their sgemm path.
bool simba_strided_products_available(void);

/// c[i·ldc + j] = (accumulate ? c[i·ldc + j] : 0) + Σₚ a[i·a_row + p·a_depth] · b[p·ldb + j]
/// for i < m, j < n, p < k. The sum over p runs in blocks of 128 steps,
/// each a chain of fused multiply-adds from zero, added to c in order; an
/// entry's value does not depend on m, n or how they are blocked. Call only
/// where simba_strided_products_available().
void simba_strided_products(long m, long n, long k, const float *a, long a_row, long a_depth,
                            const float *b, long ldb, float *c, long ldc, bool accumulate);

/// Where a Winograd tile's block lies in a volume [.., X, Y, Z, channels]:
/// entry (i, j, k) of the block is voxel `corner` + i·x_stride + j·y_stride
/// + k·channels (in floats), and only entries with lo ≤ (i, j, k) < hi
/// (per axis) lie inside the volume.
typedef struct {
    long corner, x_stride, y_stride, channels;
    int lo[3], hi[3];
} simba_tile_block;

/// The transforms of F(2×2×2, 3×3×3) for one tile, every channel, on
/// AVX-512 (call only where simba_strided_products_available()); `tile` is
/// the tile's 64 points × channels, point ξ = (x·4 + y)·4 + z. They compute
/// what Sources/Network/Conv3DWinograd.swift's transforms compute, in the
/// same order of operations.
/// tile = Bᵀ D B of the 4×4×4 input block (zero outside the volume).
void simba_winograd_input_tile(const float *volume, simba_tile_block block, float *tile);
/// tile = A dY Aᵀ of the 2×2×2 output-gradient block.
void simba_winograd_output_gradient_tile(const float *volume, simba_tile_block block, float *tile);
/// The 2×2×2 output block = Aᵀ M A of tile, stored where inside the volume.
void simba_winograd_output_tile(const float *tile, simba_tile_block block, float *volume);
/// The 4×4×4 input-gradient block += B dU Bᵀ of tile, where inside the volume.
void simba_winograd_input_gradient_tile(const float *tile, simba_tile_block block, float *volume);
/// transformed [64][length] = G W Gᵀ of kernel [27][length] (tap (i·3 + j)·3 + k).
void simba_winograd_kernel(const float *kernel, long length, float *transformed);
/// kernel [27][length] += Gᵀ dV G of transformed [64][length].
void simba_winograd_add_kernel_gradient(const float *transformed, long length, float *kernel);

#endif

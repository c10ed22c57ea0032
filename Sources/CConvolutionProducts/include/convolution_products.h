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
/// for i < m, j < n, p < k. Each entry is one chain of fused multiply-adds
/// over p in order, starting from c's value or zero, so its value does not
/// depend on m, n or how they are blocked. Call only where
/// simba_strided_products_available().
void simba_strided_products(long m, long n, long k, const float *a, long a_row, long a_depth,
                            const float *b, long ldb, float *c, long ldc, bool accumulate);

#endif

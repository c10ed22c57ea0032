// Debian's libopenblas contains reference LAPACK (built with gfortran) but
// ships no lapack.h/lapacke.h, so the few Fortran routines Analysis calls are
// declared here. Every argument is passed by pointer; the trailing size_t
// arguments are the hidden lengths gfortran expects for CHARACTER arguments
// (always 1 here). Integers are 32-bit: Debian's default OpenBLAS is LP64.
#ifndef SIMBA_CLAPACK_SHIM_H
#define SIMBA_CLAPACK_SHIM_H
#include <stddef.h>

// Eigenvalues (ascending) and eigenvectors of a symmetric matrix, divide and conquer.
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
             const int *lda, double *w, double *work, const int *lwork,
             int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);

// Solves A X = B for symmetric positive definite A by Cholesky.
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
            const int *lda, double *b, const int *ldb, int *info,
            size_t uplo_len);

#endif

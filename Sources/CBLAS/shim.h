// cblas.h imports directly; this header only pins which cblas.h is used
// (OpenBLAS's, found through pkg-config `openblas`).
#ifndef SIMBA_CBLAS_SHIM_H
#define SIMBA_CBLAS_SHIM_H
#include <cblas.h>
#endif

// The reference NIfTI-1 header layout (struct nifti_1_header, 348 bytes).
// Volumes reads and writes the header itself (byte-swapping field by field)
// and only takes the field offsets from this struct, so no libniftiio is linked
// and no nonstandard include path (-I/usr/include/nifti) is needed.
#ifndef SIMBA_CNIFTI1_SHIM_H
#define SIMBA_CNIFTI1_SHIM_H
#include <nifti/nifti1.h>
#endif

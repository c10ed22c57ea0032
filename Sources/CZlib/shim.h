// zlib's init functions are macros that pass version and struct size;
// Swift cannot import function-like macros, so wrap them here.
#ifndef SIMBA_CZLIB_SHIM_H
#define SIMBA_CZLIB_SHIM_H
#include <zlib.h>

// windowBits 15 + 32: accept zlib or gzip headers (gzip is what .nii.gz uses).
static inline int simba_inflate_init_auto(z_stream *stream) {
    return inflateInit2(stream, 15 + 32);
}

// windowBits 15 + 16: write a gzip wrapper, as .nii.gz readers expect.
static inline int simba_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif

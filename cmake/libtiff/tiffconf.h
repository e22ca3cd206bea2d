/* libtiff's public configuration, written for CellDrop's build of Debian's tiff sources.
   libtiff's own CMake probes type sizes with try-compiles that fail under Emscripten 3.1.6, so the
   values that every target we build shares (GCC/clang on x86-64 and wasm32: C99 fixed-width types,
   little-endian, IEEE floats) are stated here instead. Only the codecs CellDrop reads are enabled. */
#ifndef _TIFFCONF_
#define _TIFFCONF_

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#define TIFF_INT8_T int8_t
#define TIFF_INT16_T int16_t
#define TIFF_INT32_T int32_t
#define TIFF_INT64_T int64_t
#define TIFF_UINT8_T uint8_t
#define TIFF_UINT16_T uint16_t
#define TIFF_UINT32_T uint32_t
#define TIFF_UINT64_T uint64_t
#if defined(__wasm32__) || (defined(__SIZEOF_SIZE_T__) && __SIZEOF_SIZE_T__ == 4)
#define TIFF_SSIZE_T int32_t
#else
#define TIFF_SSIZE_T int64_t
#endif

#define HAVE_IEEEFP 1
#define HOST_FILLORDER FILLORDER_LSB2MSB
#define HOST_BIGENDIAN 0

#define LZW_SUPPORT 1
#define PACKBITS_SUPPORT 1
#define ZIP_SUPPORT 1
#define CCITT_SUPPORT 1
#define NEXT_SUPPORT 1
#define THUNDER_SUPPORT 1
#define LOGLUV_SUPPORT 1
#define MDI_SUPPORT 1
#define STRIPCHOP_DEFAULT TIFF_STRIPCHOP
#define SUBIFD_SUPPORT 1
#define DEFAULT_EXTRASAMPLE_AS_ALPHA 1
#define CHECK_JPEG_YCBCR_SUBSAMPLING 1

#endif /* _TIFFCONF_ */

/* libtiff's private configuration for CellDrop's build (see tiffconf.h for why it is hand-written). */
#include "tiffconf.h"

#define HAVE_ASSERT_H 1
#define HAVE_FCNTL_H 1
#define HAVE_FSEEKO 1
#define HAVE_STRINGS_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UNISTD_H 1
#define CHUNKY_STRIP_READ_SUPPORT 1
#define DEFER_STRILE_LOAD 1

#define PACKAGE "LibTIFF Software"
#define PACKAGE_BUGREPORT "tiff@lists.osgeo.org"
#define PACKAGE_NAME "LibTIFF Software"
#define PACKAGE_STRING "LibTIFF Software 4.5.0"
#define PACKAGE_TARNAME "tiff"
#define PACKAGE_URL ""
#define PACKAGE_VERSION "4.5.0"
#define VERSION "4.5.0"

#if defined(__wasm32__) || (defined(__SIZEOF_SIZE_T__) && __SIZEOF_SIZE_T__ == 4)
#define SIZEOF_SIZE_T 4
#define TIFF_SSIZE_FORMAT PRId32
#else
#define SIZEOF_SIZE_T 8
#define TIFF_SSIZE_FORMAT PRId64
#endif
#define TIFF_SIZE_FORMAT "zu"

#define STRIP_SIZE_DEFAULT 8192
#define TIFF_MAX_DIR_COUNT 1048576

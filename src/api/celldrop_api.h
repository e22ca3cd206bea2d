// CellDrop's C API: the flat functions the Node CLI (and the browser worker) call in the WebAssembly
// module. It is a thin shell: all logic lives in src/core.
//
// Memory contract (the same from C and from JavaScript):
//   - Inputs the caller passes by pointer (file bytes, parameter strings) are the caller's: allocate
//     them with cd_alloc (in JS: write into HEAPU8 at that address) and cd_free them afterwards.
//   - Every char* a function returns is a NUL-terminated JSON object on the heap, never NULL: the
//     result, or {"error":"<sentence a user can act on>"}. Free it with cd_free.
//   - Buffers returned through out-parameters (PNG bytes) are heap blocks too: free each with cd_free.
//   - In WebAssembly, pointers above 2 GB arrive in JS as negative numbers: read them as `ptr >>> 0`.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define CD_API EMSCRIPTEN_KEEPALIVE
#else
#define CD_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

// "0.1.0": the version of the core; static, do not free.
CD_API const char* cd_version(void);

// malloc/free for the caller's inputs and for everything returned. cd_alloc(0) returns a valid block.
CD_API void* cd_alloc(size_t size);
CD_API void cd_free(void* ptr);

// What an image file is, without keeping its pixels:
//   {"format":"tiff","width":512,"height":512,"channels":1,"type":"uint16","pages":3,
//    "pixel_size_um":[0.325,0.325]}            (pixel_size_um is null when the file does not say)
// The first page is decoded too, so a truncated or corrupt file is reported here rather than later.
// max_megapixels bounds width x height (the decode budget); <= 0 takes the core's default.
CD_API char* cd_info(const uint8_t* bytes, size_t size, double max_megapixels);

// Synthetic nuclei (src/core/synth.h). `params` is text of name=value pairs separated by spaces,
// commas or newlines; each is optional, defaults as in SynthParams:
//   seed (unsigned 64-bit integer), width, height, bits (8|16), diameter, spread, density,
//   count (0 = from density), overlap, blur, background, photons (0 = no shot noise), read_noise
// Returns {"seed":"7","width":512,"height":512,"bits":16,"count":231,"overlapped":40} (the seed is
// a string: 64-bit integers do not survive JSON numbers in JS) and sets the out-parameters to the
// image PNG and the 16-bit label PNG; on error they are set to NULL/0.
CD_API char* cd_synth(const char* params, uint8_t** image_png, size_t* image_png_size, uint8_t** labels_png,
                      size_t* labels_png_size);

#ifdef __cplusplus
}
#endif

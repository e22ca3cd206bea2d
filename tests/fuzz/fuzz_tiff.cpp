// libFuzzer target: TIFF and BigTIFF, both byte orders (src/core/tiff_reader.cpp through decode.h).
#include "fuzz_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using celldrop_fuzz::starts_with;
  if (!starts_with(data, size, "II", 2) && !starts_with(data, size, "MM", 2)) return -1;
  return celldrop_fuzz::fuzz_decode(data, size);
}

// libFuzzer target: JPEG (src/core/decode_stb.cpp through decode.h).
#include "fuzz_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!celldrop_fuzz::starts_with(data, size, "\xFF\xD8\xFF", 3)) return -1;
  return celldrop_fuzz::fuzz_decode(data, size);
}

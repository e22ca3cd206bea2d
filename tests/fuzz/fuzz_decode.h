// Shared body of the libFuzzer targets: one per decoder, each feeding only inputs that carry its own
// magic bytes (others are rejected with -1 so they never enter that target's corpus), through the
// public API exactly as the page and the CLI call it, with a small sample budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/decode.h"

namespace celldrop_fuzz {

inline int fuzz_decode(const uint8_t* data, size_t size) {
  using namespace celldrop;
  DecodeOptions options;
  options.max_samples = uint64_t(4) << 20;  // 4M samples: big enough for real seeds, small for ASan
  ImageInfo info;
  std::string error;
  const bool probed = probe_image(data, size, &info, &error);
  if (!probed && error.empty()) __builtin_trap();  // every failure must say why
  Image img;
  const bool decoded = decode_image(data, size, options, &img, &error);
  if (!decoded) {
    if (error.empty() || !img.empty()) __builtin_trap();
    return 0;
  }
  // A successful decode must agree with the probe and hold exactly its samples.
  if (!probed || info.width != img.width || info.height != img.height || info.channels != img.channels ||
      info.type != img.type || img.data.size() != img.sample_count() * sample_type_size(img.type))
    __builtin_trap();
  if (info.pages > 1) {  // another page of a multi-page file goes through TIFFSetDirectory
    options.page = info.pages - 1;
    decode_image(data, size, options, &img, &error);
  }
  return 0;
}

inline bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t n) {
  return size >= n && memcmp(data, magic, n) == 0;
}

}  // namespace celldrop_fuzz

// Test-only: PNG files assembled chunk by chunk (big-endian lengths, CRC from zlib), so a test controls
// every header field, including ones no encoder would write.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <vector>

inline void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

// Appends one chunk: length, type, data, and the CRC of type and data.
inline void put_chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  put_be32(png, uint32_t(data.size()));
  const size_t start = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  put_be32(png, uint32_t(crc32(0, png.data() + start, uInt(png.size() - start))));
}

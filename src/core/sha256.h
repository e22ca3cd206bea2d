// SHA-256 (FIPS 180-4), for the run record: the image's and the model's fingerprints, so a result can
// be traced to the exact bytes that produced it. Incremental, so large files need not be copied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace celldrop {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::array<uint8_t, 32> finish();  // the object is spent afterwards; make a new one to hash again

 private:
  void compress(const uint8_t block[64]);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;  // bytes
};

std::string sha256_hex(const void* data, size_t size);  // 64 lowercase hex digits
std::string to_hex(const uint8_t* bytes, size_t size);

}  // namespace celldrop

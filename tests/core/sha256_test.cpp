// SHA-256 against the FIPS 180-2 example vectors, and incremental = one-shot on odd-sized pieces.
#include "core/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace celldrop {
namespace {

std::string hex_of(const std::string& s) { return sha256_hex(s.data(), s.size()); }

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // 55, 56 and 64 bytes: the padding's edge cases (length field fits / spills into a new block).
  EXPECT_EQ(hex_of(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(hex_of(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(hex_of(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(char(i * 7 + 3));
  Sha256 h;
  size_t at = 0, piece = 1;
  while (at < data.size()) {
    const size_t n = std::min(piece, data.size() - at);
    h.update(data.data() + at, n);
    at += n;
    piece = piece * 3 % 97 + 1;
  }
  const auto d = h.finish();
  EXPECT_EQ(to_hex(d.data(), d.size()), sha256_hex(data.data(), data.size()));
}

}  // namespace
}  // namespace celldrop

// Zip: walk the archive as a reader would (central directory -> local headers), check CRCs and
// inflate deflated entries with zlib.
#include <gtest/gtest.h>

#include <cstring>

#include "core/export.h"
#include "zlib.h"

namespace celldrop {
namespace {

uint32_t get16(const std::vector<uint8_t>& b, size_t at) { return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8; }
uint32_t get32(const std::vector<uint8_t>& b, size_t at) { return get16(b, at) | get16(b, at + 2) << 16; }

std::vector<uint8_t> inflate_raw(const uint8_t* data, size_t size, size_t expected) {
  std::vector<uint8_t> out(expected);
  z_stream z;
  std::memset(&z, 0, sizeof z);
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = uInt(size);
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

TEST(ExportZip, EntriesReadBack) {
  std::vector<ZipEntry> entries(3);
  entries[0].name = "a.txt";
  entries[0].data = {'h', 'i'};  // too short to compress: stored
  entries[1].name = "dir/zeros.bin";
  entries[1].data.assign(5000, 0);  // compresses: deflated
  entries[2].name = "empty";
  std::vector<uint8_t> zip;
  std::string error;
  ASSERT_TRUE(write_zip(entries, true, &zip, &error)) << error;

  const size_t end = zip.size() - 22;
  ASSERT_EQ(get32(zip, end), 0x06054b50u);
  ASSERT_EQ(get16(zip, end + 10), 3u);
  size_t cd = get32(zip, end + 16);
  ASSERT_EQ(cd + get32(zip, end + 12), end);
  for (const ZipEntry& e : entries) {
    ASSERT_EQ(get32(zip, cd), 0x02014b50u);
    const uint32_t method = get16(zip, cd + 10), crc = get32(zip, cd + 16);
    const uint32_t packed = get32(zip, cd + 20), size = get32(zip, cd + 24);
    const uint32_t name_len = get16(zip, cd + 28), offset = get32(zip, cd + 42);
    EXPECT_EQ(std::string(zip.begin() + long(cd + 46), zip.begin() + long(cd + 46 + name_len)), e.name);
    EXPECT_EQ(size, e.data.size());
    EXPECT_EQ(crc, uint32_t(crc32(0, e.data.data(), uInt(e.data.size()))));
    ASSERT_EQ(get32(zip, offset), 0x04034b50u);
    EXPECT_EQ(get32(zip, offset + 14), crc);  // the local header agrees (ZipInputStream reads it)
    const size_t body = offset + 30 + get16(zip, offset + 26) + get16(zip, offset + 28);
    std::vector<uint8_t> data;
    if (method == 8) {
      data = inflate_raw(zip.data() + body, packed, size);
      EXPECT_LT(packed, size);
    } else {
      ASSERT_EQ(method, 0u);
      EXPECT_EQ(packed, size);
      data.assign(zip.begin() + long(body), zip.begin() + long(body + packed));
    }
    EXPECT_EQ(data, e.data) << e.name;
    cd += 46 + name_len;
  }
  EXPECT_EQ(get16(zip, 8), 0u);  // the first entry's local header: stored
}

TEST(ExportZip, TooManyEntriesIsAnError) {
  std::vector<ZipEntry> entries(65536);
  for (size_t i = 0; i < entries.size(); ++i) entries[i].name = std::to_string(i);
  std::vector<uint8_t> zip;
  std::string error;
  EXPECT_FALSE(write_zip(entries, false, &zip, &error));
  EXPECT_NE(error.find("65535"), std::string::npos);
}

}  // namespace
}  // namespace celldrop

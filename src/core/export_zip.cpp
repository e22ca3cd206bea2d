// A minimal zip writer (PKWARE APPNOTE 6.3): local headers + data, central directory, end record.
#include <cstring>

#include "core/export.h"
#include "zlib.h"

namespace celldrop {

namespace {

void put16(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(uint8_t(v));
  b.push_back(uint8_t(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, v & 0xFFFF);
  put16(b, v >> 16);
}

// Raw deflate (no zlib header), as zip's method 8 wants.
bool deflate_raw(const std::vector<uint8_t>& in, std::vector<uint8_t>* out) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out->resize(deflateBound(&z, uLong(in.size())));
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = uInt(in.size());
  z.next_out = out->data();
  z.avail_out = uInt(out->size());
  const int rc = deflate(&z, Z_FINISH);
  out->resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END;
}

}  // namespace

bool write_zip(const std::vector<ZipEntry>& entries, bool deflate, std::vector<uint8_t>* out,
               std::string* error) {
  if (entries.size() > 65535) {
    *error = "zip: " + std::to_string(entries.size()) + " entries is more than a zip without zip64 holds (65535)";
    return false;
  }
  out->clear();
  std::vector<uint8_t> central;
  std::vector<uint8_t> packed;
  // A fixed timestamp (1980-01-01 00:00, the format's epoch): the same labels give the same bytes.
  const uint32_t dos_time = 0, dos_date = (0 << 9) | (1 << 5) | 1;
  for (const ZipEntry& e : entries) {
    if (e.name.empty() || e.name.size() > 65535) {
      *error = "zip: an entry name is empty or too long";
      return false;
    }
    const uint32_t crc = uint32_t(crc32(crc32(0, nullptr, 0), e.data.data(), uInt(e.data.size())));
    bool deflated = false;
    if (deflate && !e.data.empty()) {
      if (!deflate_raw(e.data, &packed)) {
        *error = "zip: deflate failed for " + e.name;
        return false;
      }
      deflated = packed.size() < e.data.size();  // stored when compression does not pay
    }
    const std::vector<uint8_t>& body = deflated ? packed : e.data;
    if (out->size() + body.size() + 30 + e.name.size() > 0xFFFFFFFFull) {
      *error = "zip: the archive would exceed 4 GiB";
      return false;
    }
    const uint32_t offset = uint32_t(out->size());
    const uint32_t method = deflated ? 8 : 0;
    put32(*out, 0x04034b50);
    put16(*out, 20);  // version needed: 2.0
    put16(*out, 0x0800);  // flags: names are UTF-8
    put16(*out, method);
    put16(*out, dos_time);
    put16(*out, dos_date);
    put32(*out, crc);
    put32(*out, uint32_t(body.size()));
    put32(*out, uint32_t(e.data.size()));
    put16(*out, uint32_t(e.name.size()));
    put16(*out, 0);
    out->insert(out->end(), e.name.begin(), e.name.end());
    out->insert(out->end(), body.begin(), body.end());

    put32(central, 0x02014b50);
    put16(central, 20);  // made by: MS-DOS attributes, 2.0
    put16(central, 20);
    put16(central, 0x0800);
    put16(central, method);
    put16(central, dos_time);
    put16(central, dos_date);
    put32(central, crc);
    put32(central, uint32_t(body.size()));
    put32(central, uint32_t(e.data.size()));
    put16(central, uint32_t(e.name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central.insert(central.end(), e.name.begin(), e.name.end());
  }
  const uint32_t central_offset = uint32_t(out->size());
  out->insert(out->end(), central.begin(), central.end());
  put32(*out, 0x06054b50);
  put16(*out, 0);
  put16(*out, 0);
  put16(*out, uint32_t(entries.size()));
  put16(*out, uint32_t(entries.size()));
  put32(*out, uint32_t(central.size()));
  put32(*out, central_offset);
  put16(*out, 0);
  return true;
}

}  // namespace celldrop

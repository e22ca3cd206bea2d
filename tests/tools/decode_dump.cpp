// decode_dump FILE PAGE OUT.raw — decodes one page of an image with CellDrop's core and writes its
// samples, raw and little-endian in our chunky layout (row-major, channels interleaved), to OUT.raw.
// Prints one JSON line: {"width","height","channels","type","pages","pixel_size_um"} or {"error"}.
// tests/tiff/tiff_interop.test.mjs compares OUT.raw byte for byte with what tifffile reads.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/decode.h"

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

int fail(const std::string& message) {
  printf("{\"error\":%s}\n", json_string(message).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: decode_dump FILE PAGE OUT.raw\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) return fail(std::string("cannot open ") + argv[1]);
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t n = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  fclose(f);

  celldrop::DecodeOptions options;
  options.page = atoi(argv[2]);
  celldrop::ImageInfo info;
  celldrop::Image img;
  std::string error;
  if (!celldrop::probe_image(bytes.data(), bytes.size(), &info, &error)) return fail(error);
  if (!celldrop::decode_image(bytes.data(), bytes.size(), options, &img, &error)) return fail(error);

  // The core stores samples in native order; every platform CellDrop builds for is little-endian.
  FILE* out = fopen(argv[3], "wb");
  if (!out || fwrite(img.data.data(), 1, img.data.size(), out) != img.data.size()) return fail("cannot write output");
  fclose(out);
  std::string pixel_size = "null";
  if (img.pixel_size_x_um > 0 && img.pixel_size_y_um > 0) {
    char buf[64];
    snprintf(buf, sizeof buf, "[%.17g,%.17g]", img.pixel_size_x_um, img.pixel_size_y_um);
    pixel_size = buf;
  }
  printf("{\"format\":%s,\"width\":%d,\"height\":%d,\"channels\":%d,\"type\":\"%s\",\"pages\":%d,"
         "\"pixel_size_um\":%s}\n",
         json_string(info.format).c_str(), img.width, img.height, img.channels,
         celldrop::sample_type_name(img.type), info.pages, pixel_size.c_str());
  return 0;
}

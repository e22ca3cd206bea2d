// Format sniffing and dispatch. Formats are recognised by their magic bytes, never by file name: users
// drop files named ".tif" that are PNGs, and the browser gives us bytes without a trustworthy name.
#include "core/decode.h"

#include <cstring>

#include "core/decode_formats.h"

namespace celldrop {

namespace {

const char* sniff_format(const uint8_t* b, size_t n) {
  static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n >= 8 && memcmp(b, png_magic, 8) == 0) return "png";
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "jpeg";
  if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "bmp";
  // "II" or "MM", then 42 (classic) or 43 (BigTIFF) in that byte order.
  if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
                 (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43))))
    return "tiff";
  return nullptr;
}

bool unknown_format(size_t size, std::string* error) {
  if (size == 0) {
    *error = "the file is empty";
  } else {
    *error = "not a supported image: expected TIFF, PNG, JPEG or BMP (the first bytes match none of "
             "them)";
  }
  return false;
}

}  // namespace

bool probe_image(const uint8_t* bytes, size_t size, ImageInfo* info, std::string* error) {
  *info = ImageInfo();
  error->clear();
  const char* format = sniff_format(bytes, size);
  if (!format) return unknown_format(size, error);
  if (strcmp(format, "tiff") == 0) return tiff_probe(bytes, size, info, error);
  return stb_probe(format, bytes, size, info, error);
}

bool decode_image(const uint8_t* bytes, size_t size, const DecodeOptions& options, Image* out,
                  std::string* error) {
  *out = Image();
  error->clear();
  const char* format = sniff_format(bytes, size);
  if (!format) return unknown_format(size, error);
  if (options.page < 0) {
    *error = "page " + std::to_string(options.page) + " does not exist: pages count from 0";
    return false;
  }
  bool ok = strcmp(format, "tiff") == 0 ? tiff_decode(bytes, size, options, out, error)
                                        : stb_decode(format, bytes, size, options, out, error);
  if (!ok) *out = Image();  // never hand back a half-filled image
  return ok;
}

}  // namespace celldrop

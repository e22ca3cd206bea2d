#include "app/intake.h"

#include <cstdio>

#include "core/decode.h"
#include "core/sha256.h"

namespace celldrop {

std::string file_stem(const std::string& name) {
  std::string base = name;
  size_t slash = base.find_last_of("/\\");
  if (slash != std::string::npos) base = base.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  for (char& c : base) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 32 || u == 127 || std::string("/\\:*?\"<>|").find(c) != std::string::npos) c = '_';
  }
  if (base.empty() || base[0] == '.') return "image";
  return base;
}

bool open_image(const uint8_t* bytes, size_t size, const std::string& name, const std::string& source_url,
                int page, OpenedImage* out, std::string* error) {
  const std::string shown = name.empty() ? "the image" : name;
  if (size == 0) {
    *error = "Cannot open " + shown + ": the file is empty.";
    return false;
  }
  ImageInfo info;
  std::string why;
  if (!probe_image(bytes, size, &info, &why)) {
    *error = "Cannot open " + shown + ": " + why + ". CellDrop reads PNG, JPEG, BMP and TIFF files.";
    return false;
  }
  DecodeOptions options;
  options.max_samples = kPageMaxSamples;
  options.page = page;
  const uint64_t samples = uint64_t(info.width) * uint64_t(info.height) * uint64_t(info.channels);
  if (samples > options.max_samples) {
    // The core's own message suggests raising the limit, which the page does not offer.
    char text[320];
    std::snprintf(text, sizeof text,
                  "Cannot open %s: it declares %d x %d pixels with %d channel%s, more than this page can hold "
                  "(%llu megasamples at most). Crop or downsample it first, or use the command-line tool.",
                  shown.c_str(), info.width, info.height, info.channels, info.channels == 1 ? "" : "s",
                  static_cast<unsigned long long>(options.max_samples / 1000000));
    *error = text;
    return false;
  }
  Image image;
  if (!decode_image(bytes, size, options, &image, &why)) {
    *error = "Cannot open " + shown + ": " + why + ".";
    return false;
  }
  out->image = std::move(image);
  out->file.assign(bytes, bytes + size);
  out->name = name.empty() ? "image." + info.format : name;
  out->stem = file_stem(out->name);
  out->format = info.format;
  out->page = page;
  out->pages = info.pages;
  out->sha256 = sha256_hex(bytes, size);
  out->source_url = source_url;
  return true;
}

}  // namespace celldrop

// Decoding: file bytes -> Image. PNG (8/16-bit), JPEG and BMP through stb_image; TIFF through libtiff
// (strips and tiles, chunky and planar, multi-page, both byte orders, classic and BigTIFF, none/LZW/
// Deflate/PackBits with or without predictor; pixel size from OME-XML, ImageJ or resolution tags).
//
// Every decoder checks the size the file declares against a pixel budget *before* allocating, so a
// hostile header cannot make us allocate gigabytes; malformed or truncated input yields an error string,
// never a crash or a hang.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image.h"

namespace celldrop {

struct DecodeOptions {
  int page = 0;  // which page (TIFF directory) of a multi-page file
  // Most samples (width * height * channels) a decode may allocate. The default takes a 16k x 16k
  // image with 4 channels; the page and the CLI let users raise or lower it.
  uint64_t max_samples = uint64_t(16384) * 16384 * 4;
};

// What a file declares, read without decoding pixels.
struct ImageInfo {
  std::string format;  // "png", "jpeg", "bmp", "tiff"
  int width = 0;
  int height = 0;
  int channels = 0;
  SampleType type = SampleType::U8;
  int pages = 1;
  double pixel_size_x_um = 0.0;  // 0 = unknown
  double pixel_size_y_um = 0.0;
};

// Both return false and set *error to a sentence a user can act on ("TIFF: truncated strip 3 of 8").
bool probe_image(const uint8_t* bytes, size_t size, ImageInfo* info, std::string* error);
bool decode_image(const uint8_t* bytes, size_t size, const DecodeOptions& options, Image* out,
                  std::string* error);

}  // namespace celldrop

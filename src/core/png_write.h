// PNG encoding: Image -> PNG bytes (8/16-bit gray, gray+alpha, RGB, RGBA) and Labels -> 16-bit gray PNG.
//
// The label PNG is what segmentation tools exchange (StarDist, Cellpose, the DSB data): one 16-bit
// channel whose value is the object id. Ids above 65535 do not fit and are an error, not a wrap-around.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace celldrop {

struct PngWriteOptions {
  int compression = 6;           // zlib level 0..9 (1 is several times faster on large images)
  double pixel_size_x_um = 0.0;  // > 0 on both axes writes a pHYs chunk (pixels per metre); else none
  double pixel_size_y_um = 0.0;
};

// Both return false and set *error when the input cannot be written as PNG (float or 32-bit samples,
// more than 4 channels, an id above 65535, an empty image).
bool write_png(const Image& image, const PngWriteOptions& options, std::vector<uint8_t>* out,
               std::string* error);
bool write_labels_png(const Labels& labels, const PngWriteOptions& options, std::vector<uint8_t>* out,
                      std::string* error);

}  // namespace celldrop

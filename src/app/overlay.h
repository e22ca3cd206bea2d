// The mask overlay: a label image turned into what the viewer draws over the image (outlines) and
// what hovering reads (object areas).
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace celldrop {

// RGBA pixels, width x height: an object's pixel that touches another id (4-neighbours, the image
// border counts as background) gets `rgb` at full alpha, every other pixel is transparent. Opacity
// is applied when drawing, so changing it costs no upload.
void outline_rgba(const Labels& labels, uint32_t rgb, std::vector<uint8_t>* rgba);

// Pixel count per id: areas[id], areas[0] = background; sized max id + 1.
std::vector<uint32_t> label_areas(const Labels& labels);

// The number of distinct non-zero ids.
int count_objects(const std::vector<uint32_t>& areas);

}  // namespace celldrop

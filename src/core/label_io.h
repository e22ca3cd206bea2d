// Label images read back from files (a ground truth, or labels CellDrop or another tool wrote): a
// decoded one-channel integer image as Labels. Used by evaluation, where both sides are files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image.h"

namespace celldrop {

// One channel of unsigned or non-negative integer samples (8, 16 or 32-bit) -> Labels with the same
// ids. False + a sentence when the image has several channels, float samples or negative ids.
bool labels_from_image(const Image& image, Labels* labels, std::string* error);

// Decodes a label file (first page) and converts it; errors are prefixed with what failed.
bool decode_labels(const uint8_t* bytes, size_t size, Labels* labels, std::string* error);

}  // namespace celldrop

// Resampling between an image's own pixel grid and the network's: bilinear for intensities, nearest
// for labels. Both use pixel-area alignment (pixel centres at i + 0.5 in each grid, as
// scipy.ndimage.zoom with grid_mode=True and models/train/data.py's rescale), so scaling by f and
// back by 1/f maps every pixel onto itself, and the training recipe's rescale is reproduced.
#pragma once

#include <vector>

#include "core/image.h"

namespace celldrop {

// Size of `pixels` scaled by `factor`: round(pixels * factor), at least 1.
int scaled_size(int pixels, double factor);

// The two source samples and the weight of the second one for each destination sample along one
// axis: dst[i] = src[index0[i]] * (1 - weight1[i]) + src[index1[i]] * weight1[i]. Positions beyond
// the first or last source centre are clamped to it (edge samples are repeated). With
// src == dst the weights are 0: an exact copy.
struct LinearAxis {
  std::vector<int> index0, index1;
  std::vector<float> weight1;
};
LinearAxis linear_axis(int src_size, int dst_size);

// Bilinear resampling of one float plane (row-major).
void resize_bilinear(const float* src, int src_width, int src_height, float* dst, int dst_width,
                     int dst_height);

// Nearest-neighbour resampling of labels: destination pixel (x, y) takes the source pixel whose
// area contains its centre, floor((x + 0.5) * src_width / dst_width) (clamped).
Labels resize_labels_nearest(const Labels& in, int width, int height);

}  // namespace celldrop

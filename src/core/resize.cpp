#include "core/resize.h"

#include <algorithm>
#include <cmath>

namespace celldrop {

int scaled_size(int pixels, double factor) {
  return std::max(1, int(std::lround(double(pixels) * factor)));
}

LinearAxis linear_axis(int src_size, int dst_size) {
  LinearAxis a;
  a.index0.resize(size_t(dst_size));
  a.index1.resize(size_t(dst_size));
  a.weight1.resize(size_t(dst_size));
  const double step = double(src_size) / double(dst_size);
  for (int i = 0; i < dst_size; ++i) {
    double s = (i + 0.5) * step - 0.5;  // source coordinate of this destination centre
    s = std::min(std::max(s, 0.0), double(src_size - 1));
    int i0 = std::min(int(s), src_size - 1);
    a.index0[size_t(i)] = i0;
    a.index1[size_t(i)] = std::min(i0 + 1, src_size - 1);
    a.weight1[size_t(i)] = float(s - i0);
  }
  return a;
}

void resize_bilinear(const float* src, int src_width, int src_height, float* dst, int dst_width,
                     int dst_height) {
  const LinearAxis ax = linear_axis(src_width, dst_width);
  const LinearAxis ay = linear_axis(src_height, dst_height);
  std::vector<float> row0(static_cast<size_t>(dst_width)), row1(static_cast<size_t>(dst_width));
  auto horizontal = [&](int sy, float* out) {
    const float* s = src + size_t(sy) * size_t(src_width);
    for (int x = 0; x < dst_width; ++x) {
      float w = ax.weight1[size_t(x)];
      out[x] = s[ax.index0[size_t(x)]] * (1.0f - w) + s[ax.index1[size_t(x)]] * w;
    }
  };
  for (int y = 0; y < dst_height; ++y) {
    horizontal(ay.index0[size_t(y)], row0.data());
    horizontal(ay.index1[size_t(y)], row1.data());
    float w = ay.weight1[size_t(y)];
    float* d = dst + size_t(y) * size_t(dst_width);
    for (int x = 0; x < dst_width; ++x) d[x] = row0[size_t(x)] * (1.0f - w) + row1[size_t(x)] * w;
  }
}

Labels resize_labels_nearest(const Labels& in, int width, int height) {
  Labels out = make_labels(width, height);
  if (in.width <= 0 || in.height <= 0) return out;
  std::vector<int> xs(static_cast<size_t>(width));
  for (int x = 0; x < width; ++x)
    xs[size_t(x)] = std::min(int((x + 0.5) * in.width / width), in.width - 1);
  for (int y = 0; y < height; ++y) {
    int sy = std::min(int((y + 0.5) * in.height / height), in.height - 1);
    const uint32_t* s = in.data.data() + size_t(sy) * size_t(in.width);
    uint32_t* d = out.data.data() + size_t(y) * size_t(width);
    for (int x = 0; x < width; ++x) d[x] = s[xs[size_t(x)]];
  }
  return out;
}

}  // namespace celldrop

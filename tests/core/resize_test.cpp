#include "core/resize.h"

#include <gtest/gtest.h>

#include <vector>

using namespace celldrop;

TEST(Resize, ScaledSize) {
  EXPECT_EQ(scaled_size(100, 0.5), 50);
  EXPECT_EQ(scaled_size(101, 0.5), 51);  // 50.5 rounds away from zero
  EXPECT_EQ(scaled_size(3, 0.1), 1);     // never 0
  EXPECT_EQ(scaled_size(64, 2.0), 128);
}

TEST(Resize, SameSizeIsAnExactCopy) {
  std::vector<float> src = {1.5f, -2.0f, 3.25f, 7.0f, 0.1f, 9.0f};
  std::vector<float> dst(6);
  resize_bilinear(src.data(), 3, 2, dst.data(), 3, 2);
  EXPECT_EQ(dst, src);
}

TEST(Resize, PixelAreaAlignment) {
  // Upscaling 2 -> 4: destination centres at source coordinates -0.25, 0.25, 0.75, 1.25; the ends
  // are clamped to the edge samples (scipy.ndimage.zoom, grid_mode=True, mode="nearest").
  LinearAxis a = linear_axis(2, 4);
  EXPECT_EQ(a.index0, (std::vector<int>{0, 0, 0, 1}));
  EXPECT_EQ(a.index1, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_FLOAT_EQ(a.weight1[0], 0.0f);
  EXPECT_FLOAT_EQ(a.weight1[1], 0.25f);
  EXPECT_FLOAT_EQ(a.weight1[2], 0.75f);
  std::vector<float> src = {0.0f, 4.0f}, dst(4);
  resize_bilinear(src.data(), 2, 1, dst.data(), 4, 1);
  EXPECT_EQ(dst, (std::vector<float>{0.0f, 1.0f, 3.0f, 4.0f}));
  // Downscaling 4 -> 2 averages pairs: centres at 0.5 and 2.5.
  std::vector<float> ramp = {0.0f, 1.0f, 2.0f, 3.0f}, half(2);
  resize_bilinear(ramp.data(), 4, 1, half.data(), 2, 1);
  EXPECT_EQ(half, (std::vector<float>{0.5f, 2.5f}));
}

TEST(Resize, BilinearKeepsPlanesPlanar) {
  // f(x, y) = 2x + 3y sampled at centres; resampling keeps it linear away from the clamped edges.
  const int w = 8, h = 6, dw = 12, dh = 9;
  std::vector<float> src(w * h), dst(dw * dh);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) src[y * w + x] = 2.0f * x + 3.0f * y;
  resize_bilinear(src.data(), w, h, dst.data(), dw, dh);
  for (int y = 1; y < dh - 1; ++y) {
    for (int x = 1; x < dw - 1; ++x) {
      double sx = (x + 0.5) * w / dw - 0.5, sy = (y + 0.5) * h / dh - 0.5;
      EXPECT_NEAR(dst[y * dw + x], 2 * sx + 3 * sy, 1e-4) << x << "," << y;
    }
  }
}

TEST(Resize, LabelsNearestRoundTrip) {
  Labels l;
  l.width = 5;
  l.height = 3;
  l.data = {1, 1, 2, 2, 0, 3, 3, 2, 2, 0, 3, 3, 0, 0, 7};
  Labels up = resize_labels_nearest(l, 10, 6);
  ASSERT_EQ(up.data.size(), 60u);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 10; ++x) EXPECT_EQ(up.at(x, y), l.at(x / 2, y / 2));
  Labels back = resize_labels_nearest(up, 5, 3);
  EXPECT_EQ(back.data, l.data);
}

// The synthetic nuclei are a fixture for every other test and the page's sample, so their contract is
// checked from the outside: determinism, geometry, exact labels consistent with the image, and the
// statistics the parameters promise.
#include "core/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace celldrop {
namespace {

double sample(const Image& img, size_t i) {
  return img.type == SampleType::U16 ? double(samples<uint16_t>(img)[i]) : double(img.data[i]);
}

// Per-label pixel counts, second moments and 4-connected pieces.
struct LabelStats {
  std::vector<double> area, sx, sy, sxx, syy, sxy, intensity;
  std::vector<int> pieces;
};
LabelStats label_stats(const SynthResult& r) {
  const Labels& L = r.labels;
  size_t n = size_t(r.count) + 1;
  LabelStats s;
  for (auto* v : {&s.area, &s.sx, &s.sy, &s.sxx, &s.syy, &s.sxy, &s.intensity}) v->assign(n, 0.0);
  s.pieces.assign(n, 0);
  for (int y = 0; y < L.height; ++y) {
    for (int x = 0; x < L.width; ++x) {
      uint32_t id = L.at(x, y);
      if (id >= n) continue;  // reported by the caller's range check
      s.area[id] += 1;
      s.sx[id] += x;
      s.sy[id] += y;
      s.sxx[id] += double(x) * x;
      s.syy[id] += double(y) * y;
      s.sxy[id] += double(x) * y;
      s.intensity[id] += sample(r.image, size_t(y) * size_t(L.width) + size_t(x));
    }
  }
  std::vector<uint8_t> seen(L.data.size(), 0);
  std::vector<size_t> stack;
  for (size_t start = 0; start < L.data.size(); ++start) {
    uint32_t id = L.data[start];
    if (id == 0 || id >= n || seen[start]) continue;
    ++s.pieces[id];
    seen[start] = 1;
    stack.push_back(start);
    while (!stack.empty()) {
      size_t i = stack.back();
      stack.pop_back();
      size_t x = i % size_t(L.width), y = i / size_t(L.width);
      auto visit = [&](size_t j) {
        if (!seen[j] && L.data[j] == id) {
          seen[j] = 1;
          stack.push_back(j);
        }
      };
      if (x > 0) visit(i - 1);
      if (x + 1 < size_t(L.width)) visit(i + 1);
      if (y > 0) visit(i - size_t(L.width));
      if (y + 1 < size_t(L.height)) visit(i + size_t(L.width));
    }
  }
  return s;
}

TEST(Synth, SameSeedSameBytesOtherSeedOtherImage) {
  SynthParams p;
  p.seed = 17;
  p.width = 200;
  p.height = 160;
  SynthResult a = synthesize_nuclei(p), b = synthesize_nuclei(p);
  ASSERT_TRUE(a.error.empty()) << a.error;
  EXPECT_EQ(a.image.data, b.image.data);
  EXPECT_EQ(a.labels.data, b.labels.data);
  EXPECT_EQ(a.count, b.count);

  p.seed = 18;
  SynthResult c = synthesize_nuclei(p);
  size_t differ = 0;
  for (size_t i = 0; i < a.labels.data.size(); ++i) differ += a.labels.data[i] != c.labels.data[i];
  EXPECT_GT(differ, a.labels.data.size() / 5);
}

TEST(Synth, NoiseLevelKeepsTheSameNuclei) {
  SynthParams p;
  p.seed = 5;
  p.width = p.height = 128;
  SynthResult noisy = synthesize_nuclei(p);
  p.photons = 40;
  p.read_noise = 6;
  SynthResult noisier = synthesize_nuclei(p);
  EXPECT_EQ(noisy.labels.data, noisier.labels.data);
  EXPECT_NE(noisy.image.data, noisier.image.data);
}

TEST(Synth, SizeAndBitDepthAsRequested) {
  for (int bits : {8, 16}) {
    SynthParams p;
    p.width = 301;
    p.height = 97;
    p.bits = bits;
    SynthResult r = synthesize_nuclei(p);
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.image.width, 301);
    EXPECT_EQ(r.image.height, 97);
    EXPECT_EQ(r.image.channels, 1);
    EXPECT_EQ(r.image.type, bits == 16 ? SampleType::U16 : SampleType::U8);
    EXPECT_EQ(r.image.data.size(), size_t(301) * 97 * (bits / 8));
    EXPECT_EQ(r.labels.width, 301);
    EXPECT_EQ(r.labels.height, 97);
    EXPECT_EQ(r.labels.data.size(), size_t(301) * 97);
  }
}

// 16-bit looks like a camera: an offset near 100 under the background, nuclei in the low thousands,
// far from saturation; 8-bit uses most of its range.
TEST(Synth, SampleRangesLookLikeARealCamera) {
  SynthParams p;
  p.seed = 3;
  SynthResult r16 = synthesize_nuclei(p);
  std::vector<uint16_t> v(samples<uint16_t>(r16.image), samples<uint16_t>(r16.image) + r16.image.sample_count());
  std::sort(v.begin(), v.end());
  EXPECT_GT(v[v.size() / 100], 80);
  EXPECT_LT(v[v.size() / 100], 200);
  EXPECT_GT(v[v.size() * 998 / 1000], 1000);
  EXPECT_LT(v.back(), 20000);
  p.bits = 8;
  SynthResult r8 = synthesize_nuclei(p);
  uint8_t top = *std::max_element(r8.image.data.begin(), r8.image.data.end());
  EXPECT_GT(top, 180);
}

TEST(Synth, LabelsAreExactConsecutiveAndConsistentWithTheImage) {
  for (uint64_t seed : {1, 2, 99}) {
    SynthParams p;
    p.seed = seed;
    p.width = 384;
    p.height = 256;
    SynthResult r = synthesize_nuclei(p);
    ASSERT_GT(r.count, 0);
    uint32_t top = *std::max_element(r.labels.data.begin(), r.labels.data.end());
    EXPECT_EQ(top, uint32_t(r.count)) << "ids must be 1..N";
    LabelStats s = label_stats(r);
    double bg_mean = s.intensity[0] / s.area[0];
    for (int id = 1; id <= r.count; ++id) {
      EXPECT_GT(s.area[id], 0) << "id " << id << " is missing (hidden object?)";
      EXPECT_EQ(s.pieces[id], 1) << "id " << id << " is not one connected region";
      if (s.area[id] > 0) {
        EXPECT_GT(s.intensity[id] / s.area[id], 2.0 * bg_mean) << "nucleus " << id << " is not brighter";
      }
    }
  }
}

TEST(Synth, CountFollowsDensityAndCountParameter) {
  SynthParams p;
  p.seed = 8;
  p.width = p.height = 512;
  SynthResult r = synthesize_nuclei(p);
  double mean_area = 3.14159265358979 * 0.25 * p.mean_diameter * p.mean_diameter * (1 + p.diameter_spread * p.diameter_spread);
  double expected = p.density * p.width * p.height / mean_area;
  EXPECT_GT(r.count, 0.75 * expected);
  EXPECT_LE(r.count, expected + 1);
  size_t covered = 0;
  for (uint32_t id : r.labels.data) covered += id != 0;
  double fraction = double(covered) / double(r.labels.data.size());
  EXPECT_GT(fraction, 0.7 * p.density);
  EXPECT_LT(fraction, 1.2 * p.density);

  p.density = 0.1;
  SynthResult sparse = synthesize_nuclei(p);
  EXPECT_NEAR(sparse.count, 0.1 / 0.35 * r.count, 0.2 * sparse.count);

  p.count = 40;
  SynthResult counted = synthesize_nuclei(p);
  EXPECT_LE(counted.count, 40);
  EXPECT_GE(counted.count, 36);
}

TEST(Synth, NucleiTouchOverlapAndVaryInSizeAndShape) {
  SynthParams p;
  p.seed = 21;
  p.width = p.height = 512;
  SynthResult r = synthesize_nuclei(p);
  EXPECT_GT(r.overlapped, r.count / 20) << "some nuclei must be partly covered by others";

  // Touching: pairs of different ids side by side.
  std::set<std::pair<uint32_t, uint32_t>> touching;
  for (int y = 0; y < r.labels.height; ++y)
    for (int x = 0; x + 1 < r.labels.width; ++x) {
      uint32_t a = r.labels.at(x, y), b = r.labels.at(x + 1, y);
      if (a && b && a != b) touching.insert({std::min(a, b), std::max(a, b)});
    }
  EXPECT_GT(touching.size(), size_t(r.count / 5));

  LabelStats s = label_stats(r);
  std::vector<double> areas, ratios;
  for (int id = 1; id <= r.count; ++id) {
    double a = s.area[id];
    if (a < 30) continue;
    double mx = s.sx[id] / a, my = s.sy[id] / a;
    double cxx = s.sxx[id] / a - mx * mx, cyy = s.syy[id] / a - my * my, cxy = s.sxy[id] / a - mx * my;
    double root = std::sqrt((cxx - cyy) * (cxx - cyy) / 4 + cxy * cxy);
    double l1 = (cxx + cyy) / 2 + root, l2 = (cxx + cyy) / 2 - root;
    areas.push_back(a);
    ratios.push_back(std::sqrt(l1 / std::max(l2, 1e-9)));
  }
  ASSERT_GT(areas.size(), size_t(50));
  double mean = 0, var = 0;
  for (double a : areas) mean += a / areas.size();
  for (double a : areas) var += (a - mean) * (a - mean) / areas.size();
  EXPECT_GT(std::sqrt(var) / mean, 0.25) << "sizes must vary";
  size_t elongated = std::count_if(ratios.begin(), ratios.end(), [](double q) { return q > 1.3; });
  size_t round = std::count_if(ratios.begin(), ratios.end(), [](double q) { return q < 1.1; });
  EXPECT_GT(elongated, ratios.size() / 10);
  EXPECT_GT(round, ratios.size() / 10);
}

TEST(Synth, LargeImagesWork) {
  SynthParams p;
  p.width = p.height = 2048;
  SynthResult r = synthesize_nuclei(p);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_GT(r.count, 3000);
  EXPECT_EQ(*std::max_element(r.labels.data.begin(), r.labels.data.end()), uint32_t(r.count));
}

TEST(Synth, RejectsBadParameters) {
  auto error_of = [](void (*edit)(SynthParams&)) {
    SynthParams p;
    edit(p);
    SynthResult r = synthesize_nuclei(p);
    EXPECT_TRUE(r.image.empty());
    EXPECT_TRUE(r.labels.data.empty());
    return r.error;
  };
  EXPECT_NE(error_of([](SynthParams& p) { p.width = 0; }).find("size"), std::string::npos);
  EXPECT_NE(error_of([](SynthParams& p) { p.height = 100000; }).find("size"), std::string::npos);
  EXPECT_NE(error_of([](SynthParams& p) { p.bits = 12; }).find("bits"), std::string::npos);
  EXPECT_NE(error_of([](SynthParams& p) { p.mean_diameter = NAN; }).find("diameter"), std::string::npos);
  EXPECT_NE(error_of([](SynthParams& p) { p.density = 0; }).find("density"), std::string::npos);
  EXPECT_NE(error_of([](SynthParams& p) { p.count = -1; }).find("count"), std::string::npos);
  EXPECT_NE(error_of([](SynthParams& p) { p.overlap = 2; }).find("overlap"), std::string::npos);
}

}  // namespace
}  // namespace celldrop

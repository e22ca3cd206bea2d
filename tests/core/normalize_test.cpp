// Channel selection and percentile normalisation (src/core/normalize.cpp). Percentiles are checked
// against a sort-based reference that spells out numpy.percentile's default linear convention.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "core/normalize.h"
#include "core/synth.h"

using namespace celldrop;

namespace {

// numpy.percentile(values, p) with method="linear", by full sort.
double reference_percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * double(v.size() - 1);
  const size_t i = size_t(std::floor(rank));
  const double f = rank - std::floor(rank);
  if (i + 1 >= v.size()) return v.back();
  return v[i] + f * (v[i + 1] - v[i]);
}

template <class T>
Image random_image(SampleType type, int w, int h, int C, T max_value, unsigned seed) {
  Image img = make_image(w, h, C, type);
  std::mt19937 rng(seed);
  T* p = samples<T>(img);
  for (size_t i = 0; i < img.sample_count(); ++i) {
    // Skewed values with many ties, like a microscopy background with a few bright objects.
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    p[i] = T(std::floor(double(max_value) * u * u * u));
  }
  return img;
}

std::vector<double> channel_values(const Image& img, int c) {
  std::vector<double> v;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const size_t i = (size_t(y) * img.width + x) * img.channels + c;
      // Image::at returns float, which cannot hold every uint32: read those exactly.
      v.push_back(img.type == SampleType::U32 ? double(samples<uint32_t>(img)[i]) : double(img.at(x, y, c)));
    }
  return v;
}

void expect_percentiles_match(const Image& img) {
  for (int c = 0; c < img.channels; ++c) {
    const std::vector<double> v = channel_values(img, c);
    for (double p : {0.0, 1.0, 3.3, 50.0, 99.8, 100.0}) {
      double lo = 0, hi = 0;
      ASSERT_TRUE(channel_percentiles(img, c, p, 99.0, &lo, &hi));
      const double want = reference_percentile(v, p);
      EXPECT_NEAR(lo, want, 1e-9 * std::max(1.0, std::fabs(want)))
          << sample_type_name(img.type) << " channel " << c << " p=" << p;
    }
  }
}

TEST(Percentiles, MatchNumpyLinearForEveryType) {
  expect_percentiles_match(random_image<uint8_t>(SampleType::U8, 37, 23, 2, 255, 1));
  expect_percentiles_match(random_image<uint16_t>(SampleType::U16, 41, 19, 3, 65535, 2));
  expect_percentiles_match(random_image<uint32_t>(SampleType::U32, 29, 31, 1, 4000000000u, 3));
  expect_percentiles_match(random_image<float>(SampleType::F32, 33, 17, 2, 1000.0f, 4));
}

TEST(Percentiles, KnownRampValues) {
  // 0..999: numpy gives p1 = 9.99 and p99.8 = 997.002 (rank = p/100 * 999).
  Image img = make_image(1000, 1, 1, SampleType::U16);
  for (int i = 0; i < 1000; ++i) samples<uint16_t>(img)[i] = uint16_t(i);
  double lo = 0, hi = 0;
  ASSERT_TRUE(channel_percentiles(img, 0, 1.0, 99.8, &lo, &hi));
  EXPECT_NEAR(lo, 9.99, 1e-9);
  EXPECT_NEAR(hi, 997.002, 1e-9);
}

TEST(Percentiles, NonFiniteFloatsAreLeftOut) {
  Image img = make_image(5, 1, 1, SampleType::F32);
  float* p = samples<float>(img);
  p[0] = 1.0f; p[1] = NAN; p[2] = 3.0f; p[3] = INFINITY; p[4] = 2.0f;
  double lo = 0, hi = 0;
  ASSERT_TRUE(channel_percentiles(img, 0, 0.0, 100.0, &lo, &hi));
  EXPECT_EQ(lo, 1.0);
  EXPECT_EQ(hi, 3.0);
  p[0] = p[2] = p[4] = NAN;
  EXPECT_FALSE(channel_percentiles(img, 0, 0.0, 100.0, &lo, &hi));
}

TEST(Normalize, EachChannelMapsItsPercentilesToZeroAndOneUnclipped) {
  Image img = make_image(1000, 1, 2, SampleType::U16);
  for (int i = 0; i < 1000; ++i) {
    samples<uint16_t>(img)[2 * i] = uint16_t(i);               // ramp 0..999
    samples<uint16_t>(img)[2 * i + 1] = uint16_t(5000 + 10 * i);  // ramp 5000..14990
  }
  img.pixel_size_x_um = img.pixel_size_y_um = 0.65;
  Image out;
  std::vector<ChannelLevels> levels;
  std::string error;
  ASSERT_TRUE(normalize_percentiles(img, PercentileRange(), &out, &levels, &error)) << error;
  ASSERT_EQ(out.type, SampleType::F32);
  ASSERT_EQ(out.channels, 2);
  EXPECT_EQ(out.pixel_size_x_um, 0.65);
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_NEAR(levels[0].low, 9.99, 1e-9);
  EXPECT_NEAR(levels[1].low, 5099.9, 1e-6);
  for (int i : {0, 9, 500, 999}) {
    EXPECT_NEAR(out.at(i, 0, 0), (i - 9.99) / (997.002 - 9.99), 1e-6) << i;
    EXPECT_NEAR(out.at(i, 0, 1), (5000 + 10 * i - 5099.9) / (14970.02 - 5099.9), 1e-6) << i;
  }
  EXPECT_LT(out.at(0, 0, 0), 0.0f);    // below p1: negative, not clipped
  EXPECT_GT(out.at(999, 0, 0), 1.0f);  // above p99.8: beyond 1, not clipped
}

TEST(Normalize, PercentilesAreParameters) {
  Image img = make_image(101, 1, 1, SampleType::U8);
  for (int i = 0; i <= 100; ++i) img.data[size_t(i)] = uint8_t(i);
  Image out;
  std::string error;
  PercentileRange range;
  range.low = 10;
  range.high = 60;
  ASSERT_TRUE(normalize_percentiles(img, range, &out, nullptr, &error)) << error;
  EXPECT_NEAR(out.at(10, 0, 0), 0.0f, 1e-6);
  EXPECT_NEAR(out.at(60, 0, 0), 1.0f, 1e-6);
  range.low = 70;
  EXPECT_FALSE(normalize_percentiles(img, range, &out, nullptr, &error));
  EXPECT_NE(error.find("0 <= low < high <= 100"), std::string::npos) << error;
}

TEST(Normalize, ConstantChannelBecomesZeroNotInfinity) {
  Image img = make_image(8, 8, 1, SampleType::F32);
  for (size_t i = 0; i < 64; ++i) samples<float>(img)[i] = 42.0f;
  samples<float>(img)[3] = NAN;
  Image out;
  std::string error;
  ASSERT_TRUE(normalize_percentiles(img, PercentileRange(), &out, nullptr, &error)) << error;
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(samples<float>(out)[i], 0.0f) << i;
}

TEST(SelectChannels, PicksInOrderKeepsTypeAndMergesByMean) {
  Image img = make_image(3, 2, 3, SampleType::U16);
  for (size_t i = 0; i < img.sample_count(); ++i) samples<uint16_t>(img)[i] = uint16_t(i * 100);
  img.pixel_size_x_um = 0.3;
  Image out;
  std::string error;
  ChannelSelection pick;
  pick.channels = {2, 0};
  ASSERT_TRUE(select_channels(img, pick, &out, &error)) << error;
  ASSERT_EQ(out.channels, 2);
  EXPECT_EQ(out.type, SampleType::U16);
  EXPECT_EQ(out.pixel_size_x_um, 0.3);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) {
      EXPECT_EQ(out.at(x, y, 0), img.at(x, y, 2));
      EXPECT_EQ(out.at(x, y, 1), img.at(x, y, 0));
    }
  ChannelSelection merge;
  merge.channels = {0, 1};
  merge.merge = true;
  ASSERT_TRUE(select_channels(img, merge, &out, &error)) << error;
  ASSERT_EQ(out.channels, 1);
  EXPECT_EQ(out.type, SampleType::F32);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) EXPECT_FLOAT_EQ(out.at(x, y, 0), (img.at(x, y, 0) + img.at(x, y, 1)) / 2);
  ChannelSelection all;
  ASSERT_TRUE(select_channels(img, all, &out, &error)) << error;
  EXPECT_EQ(out.data, img.data);
  ChannelSelection bad;
  bad.channels = {3};
  EXPECT_FALSE(select_channels(img, bad, &out, &error));
  EXPECT_EQ(error, "channel 4 does not exist: the image has 3 channels");
}

TEST(PrepareNetworkInput, MergedChannelIsNormalised) {
  Image img = make_image(100, 1, 2, SampleType::U8);
  for (int i = 0; i < 100; ++i) {
    img.data[size_t(2 * i)] = uint8_t(i);
    img.data[size_t(2 * i + 1)] = uint8_t(2 * i);
  }
  ChannelSelection merge;
  merge.merge = true;
  PercentileRange full;
  full.low = 0;
  full.high = 100;
  Image out;
  std::vector<ChannelLevels> levels;
  std::string error;
  ASSERT_TRUE(prepare_network_input(img, merge, full, &out, &levels, &error)) << error;
  ASSERT_EQ(out.channels, 1);
  EXPECT_NEAR(levels[0].low, 0.0, 1e-9);
  EXPECT_NEAR(levels[0].high, 148.5, 1e-9);  // mean of 99 and 198
  EXPECT_NEAR(out.at(50, 0, 0), 75.0 / 148.5, 1e-6);
}

}  // namespace

// Which background an image has: fluorescence nuclei are bright on dark, their negative (a stained or
// brightfield slide) dark on bright; an RGBA image's alpha is not looked at.
TEST(Background, FluorescenceIsDarkItsNegativeBright) {
  celldrop::SynthParams sp;
  sp.seed = 3;
  sp.width = 300;
  sp.height = 200;
  const celldrop::SynthResult s = celldrop::synthesize_nuclei(sp);
  ASSERT_TRUE(s.error.empty()) << s.error;
  EXPECT_EQ(celldrop::image_background(s.image), celldrop::Background::Dark);
  const size_t n = size_t(s.image.width) * s.image.height;
  const uint16_t* v = celldrop::samples<uint16_t>(s.image);
  // The same picture inverted, as an 8-bit RGBA slide: pinkish (the channels scaled differently),
  // its alpha 0 everywhere (which, were it read, would make the background dark).
  celldrop::Image slide = celldrop::make_image(s.image.width, s.image.height, 4, celldrop::SampleType::U8);
  uint8_t* p = celldrop::samples<uint8_t>(slide);
  for (size_t i = 0; i < n; i++) {
    const double inv = 1.0 - v[i] / 65535.0;
    p[i * 4 + 0] = uint8_t(std::lround(255 * inv));
    p[i * 4 + 1] = uint8_t(std::lround(200 * inv));
    p[i * 4 + 2] = uint8_t(std::lround(230 * inv));
    p[i * 4 + 3] = 0;
  }
  EXPECT_EQ(celldrop::image_background(slide), celldrop::Background::Bright);
  // A large image is read on a grid of about a million pixels, with the same answer.
  celldrop::Image big = celldrop::make_image(2500, 1800, 1, celldrop::SampleType::U16);
  uint16_t* b = celldrop::samples<uint16_t>(big);
  for (int y = 0; y < big.height; y++)
    for (int x = 0; x < big.width; x++) b[size_t(y) * big.width + x] = 65535 - v[size_t(y % sp.height) * sp.width + x % sp.width];
  EXPECT_EQ(celldrop::image_background(big), celldrop::Background::Bright);
  // Nothing to go by: a flat or empty image.
  EXPECT_EQ(celldrop::image_background(celldrop::make_image(8, 8, 1, celldrop::SampleType::U8)), celldrop::Background::Unknown);
  EXPECT_EQ(celldrop::image_background(celldrop::Image()), celldrop::Background::Unknown);
}

TEST(Background, ModalitiesOfTheCards) {
  EXPECT_EQ(celldrop::modality_background("fluorescence"), celldrop::Background::Dark);
  EXPECT_EQ(celldrop::modality_background("histology"), celldrop::Background::Bright);
  EXPECT_EQ(celldrop::modality_background("brightfield"), celldrop::Background::Bright);
  EXPECT_EQ(celldrop::modality_background(""), celldrop::Background::Unknown);
  EXPECT_EQ(celldrop::modality_background("phase contrast"), celldrop::Background::Unknown);
}

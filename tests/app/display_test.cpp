// Contrast mapping (src/app/display.cpp). Microscopy images are mostly 16-bit with their signal in a
// few hundred grey levels: the window must act on the real values, so a window 256 values wide over
// a 16-bit image gives 256 distinct grey levels, and "Auto" must pick the true percentiles.
#include "app/display.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"

namespace celldrop {
namespace {

Image u16_image(int w, int h, const std::vector<uint16_t>& values) {
  Image img = make_image(w, h, 1, SampleType::U16);
  std::memcpy(img.data.data(), values.data(), values.size() * 2);
  return img;
}

// The mapping written out independently: linear from low (0) to high (255), rounded, clamped.
int reference_gray(double v, double low, double high) {
  const double t = (v - low) / (high - low) * 255.0;
  return int(std::min(255.0, std::max(0.0, std::floor(t + 0.5))));
}

TEST(Display, EverySixteenBitValueMapsThroughTheWindow) {
  // A 256 x 256 image holding each 16-bit value once.
  std::vector<uint16_t> all(65536);
  for (size_t v = 0; v < all.size(); v++) all[v] = uint16_t(v);
  const Image img = u16_image(256, 256, all);
  for (ContrastWindow w : {ContrastWindow{0, 65535}, ContrastWindow{1000, 4095}, ContrastWindow{30000.5, 30300.25}}) {
    std::vector<uint8_t> gray;
    map_to_gray(img, 0, w, &gray);
    ASSERT_EQ(gray.size(), all.size());
    for (size_t v = 0; v < all.size(); v++) {
      ASSERT_EQ(int(gray[v]), reference_gray(double(v), w.low, w.high)) << "value " << v << " in [" << w.low << ", " << w.high << "]";
      ASSERT_EQ(gray[v], gray_level(double(v), w)) << v;
    }
  }
}

TEST(Display, ANarrowWindowShowsEverySixteenBitStep) {
  // 256 consecutive 16-bit values under a window as wide: 256 distinct grey levels, not a stretched
  // 8-bit copy (which would show one level for all of them).
  std::vector<uint16_t> ramp(256);
  for (int i = 0; i < 256; i++) ramp[size_t(i)] = uint16_t(40000 + i);
  const Image img = u16_image(16, 16, ramp);
  std::vector<uint8_t> gray;
  map_to_gray(img, 0, {40000, 40255}, &gray);
  for (int i = 0; i < 256; i++) EXPECT_EQ(int(gray[size_t(i)]), i) << "value " << 40000 + i;
}

TEST(Display, OutsideTheWindowIsBlackOrWhite) {
  const ContrastWindow w = {100, 200};
  EXPECT_EQ(gray_level(0, w), 0);
  EXPECT_EQ(gray_level(100, w), 0);
  EXPECT_EQ(gray_level(200, w), 255);
  EXPECT_EQ(gray_level(65535, w), 255);
  EXPECT_EQ(gray_level(150, w), 128);  // 127.5 rounds up
  EXPECT_EQ(gray_level(std::numeric_limits<double>::quiet_NaN(), w), 0) << "NaN shows black";
}

TEST(Display, AnEmptyWindowIsAThreshold) {
  for (ContrastWindow w : {ContrastWindow{500, 500}, ContrastWindow{500, 100}}) {
    EXPECT_EQ(gray_level(499, w), 0);
    EXPECT_EQ(gray_level(500, w), 0);
    EXPECT_EQ(gray_level(501, w), 255);
  }
}

TEST(Display, MapsTheChosenChannel) {
  Image img = make_image(2, 1, 3, SampleType::U16);
  const uint16_t values[] = {10, 2000, 65535, 0, 1000, 30000};  // pixel 0: r g b, pixel 1: r g b
  std::memcpy(img.data.data(), values, sizeof values);
  std::vector<uint8_t> gray;
  map_to_gray(img, 1, {0, 2000}, &gray);
  EXPECT_EQ(gray, (std::vector<uint8_t>{255, 128}));
  map_to_gray(img, 2, {0, 65535}, &gray);
  EXPECT_EQ(gray, (std::vector<uint8_t>{255, 117}));
  map_to_gray(img, 3, {0, 1}, &gray);  // no such channel: black, of the right size
  EXPECT_EQ(gray, (std::vector<uint8_t>{0, 0}));
}

TEST(Display, FloatImagesMapTheirValuesAndShowNaNBlack) {
  Image img = make_image(4, 1, 1, SampleType::F32);
  const float values[] = {-0.5f, 0.25f, std::numeric_limits<float>::quiet_NaN(), 2.0f};
  std::memcpy(img.data.data(), values, sizeof values);
  std::vector<uint8_t> gray;
  map_to_gray(img, 0, {0.0, 1.0}, &gray);
  EXPECT_EQ(gray, (std::vector<uint8_t>{0, 64, 0, 255}));
}

// The percentile "Auto" should pick, found by sorting: the value below which fewer than rank samples lie.
double sorted_percentile(std::vector<double> values, double percent) {
  std::sort(values.begin(), values.end());
  const size_t rank = size_t(std::floor(values.size() * percent / 100.0));
  return values[std::min(rank, values.size() - 1)];
}

TEST(Display, AutoWindowIsTheTrueSixteenBitPercentiles) {
  // Dim background, bright nuclei and a few hot pixels: the window must ignore the hot pixels.
  Rng rng(7);
  const int w = 200, h = 150;
  std::vector<uint16_t> v(size_t(w) * h);
  std::vector<double> as_double;
  for (size_t i = 0; i < v.size(); i++) {
    const double u = rng.uniform();
    v[i] = u < 0.7 ? uint16_t(900 + rng.uniform() * 200) : u < 0.9995 ? uint16_t(3000 + rng.uniform() * 9000) : 65535;
    as_double.push_back(v[i]);
  }
  const ChannelStats s = channel_stats(u16_image(w, h, v), 0);
  EXPECT_EQ(s.min, *std::min_element(as_double.begin(), as_double.end()));
  EXPECT_EQ(s.max, 65535);
  EXPECT_EQ(s.auto_window.low, sorted_percentile(as_double, kAutoLowPercentile));
  EXPECT_EQ(s.auto_window.high, sorted_percentile(as_double, kAutoHighPercentile));
  EXPECT_LT(s.auto_window.high, 12000) << "the hot pixels set the window";
  ASSERT_EQ(s.histogram.size(), size_t(kHistogramBins));
  double total = 0;
  for (float c : s.histogram) total += c;
  EXPECT_EQ(total, double(w) * h);
  EXPECT_EQ(s.histogram.back(), float(std::count(v.begin(), v.end(), 65535))) << "the hot pixels fill the top bin";
}

TEST(Display, AutoWindowOfEightBitImagesIsExactToo) {
  Rng rng(3);
  Image img = make_image(64, 64, 2, SampleType::U8);
  std::vector<double> channel1;
  for (size_t i = 0; i < img.data.size(); i++) {
    img.data[i] = uint8_t(rng.uniform() * 256);
    if (i % 2 == 1) channel1.push_back(img.data[i]);
  }
  const ChannelStats s = channel_stats(img, 1);
  EXPECT_EQ(s.auto_window.low, sorted_percentile(channel1, kAutoLowPercentile));
  EXPECT_EQ(s.auto_window.high, sorted_percentile(channel1, kAutoHighPercentile));
  EXPECT_EQ(s.max, *std::max_element(channel1.begin(), channel1.end()));
}

TEST(Display, AutoWindowOfFloatImagesIsWithinOneFineBin) {
  Rng rng(5);
  Image img = make_image(100, 80, 1, SampleType::F32);
  float* p = samples<float>(img);
  std::vector<double> finite;
  for (size_t i = 0; i < img.sample_count(); i++) {
    p[i] = i % 997 == 0 ? std::numeric_limits<float>::quiet_NaN() : float(-3.0 + 10.0 * rng.uniform() * rng.uniform());
    if (std::isfinite(p[i])) finite.push_back(p[i]);
  }
  const ChannelStats s = channel_stats(img, 0);
  const double range = s.max - s.min, bin = range / 65535.0;
  EXPECT_NEAR(s.auto_window.low, sorted_percentile(finite, kAutoLowPercentile), bin);
  EXPECT_NEAR(s.auto_window.high, sorted_percentile(finite, kAutoHighPercentile), bin);
  double total = 0;
  for (float c : s.histogram) total += c;
  EXPECT_EQ(total, double(finite.size())) << "NaN samples are not counted";
}

TEST(Display, FlatImagesGetAUsableWindow) {
  const Image flat = u16_image(8, 8, std::vector<uint16_t>(64, 1234));
  const ChannelStats s = channel_stats(flat, 0);
  EXPECT_EQ(s.min, 1234);
  EXPECT_EQ(s.max, 1234);
  EXPECT_EQ(s.auto_window.low, 1234);
  EXPECT_EQ(s.auto_window.high, 1234);
  std::vector<uint8_t> gray;
  map_to_gray(flat, 0, s.auto_window, &gray);
  EXPECT_EQ(gray, std::vector<uint8_t>(64, 0));
  // A mostly flat image with one brighter pixel: the window spans both values.
  std::vector<uint16_t> v(64, 1234);
  v[10] = 1300;
  const ChannelStats one = channel_stats(u16_image(8, 8, v), 0);
  EXPECT_EQ(one.auto_window.low, 1234);
  EXPECT_EQ(one.auto_window.high, 1300);
}

// The colour view: RGB(A) images show channels 1-3 as red, green and blue through one window.
TEST(Display, ThreeAndFourChannelImagesHaveAColourView) {
  for (int c : {1, 2, 3, 4, 5}) {
    EXPECT_EQ(has_colour_view(make_image(2, 2, c, SampleType::U8)), c == 3 || c == 4) << c << " channels";
  }
  EXPECT_FALSE(has_colour_view(Image())) << "no image, no view";
}

TEST(Display, ColourViewMapsChannelsOneToThreeAndLeavesAlphaOut) {
  Image img = make_image(2, 1, 4, SampleType::U16);
  const uint16_t values[] = {10, 2000, 65535, 7, 0, 1000, 30000, 65535};  // pixel 0: r g b a, pixel 1: r g b a
  std::memcpy(img.data.data(), values, sizeof values);
  std::vector<uint8_t> rgb;
  map_to_rgb(img, {0, 2000}, &rgb);
  EXPECT_EQ(rgb, (std::vector<uint8_t>{1, 255, 255, 0, 128, 255}));
  map_to_rgb(make_image(2, 1, 2, SampleType::U8), {0, 255}, &rgb);  // no colour view: black, of the right size
  EXPECT_EQ(rgb, std::vector<uint8_t>(6, 0));
  // Eight-bit samples through the whole range come out as stored: the picture as any viewer shows it.
  Image photo = make_image(3, 1, 3, SampleType::U8);
  for (size_t i = 0; i < photo.data.size(); i++) photo.data[i] = uint8_t(i * 29);
  map_to_rgb(photo, colour_default_window(photo, colour_stats(photo)), &rgb);
  EXPECT_EQ(rgb, photo.data);
}

TEST(Display, ColourStatsPoolTheThreeColourChannels) {
  Rng rng(11);
  Image img = make_image(50, 40, 4, SampleType::U16);
  uint16_t* p = samples<uint16_t>(img);
  std::vector<double> colour;
  for (size_t i = 0; i < img.sample_count(); i++) {
    const int c = int(i % 4);
    p[i] = c == 3 ? 65535 : uint16_t(100 * (c + 1) + rng.uniform() * 1000);  // alpha opaque, channels offset
    if (c != 3) colour.push_back(p[i]);
  }
  const ChannelStats s = colour_stats(img);
  EXPECT_EQ(s.min, *std::min_element(colour.begin(), colour.end()));
  EXPECT_EQ(s.max, *std::max_element(colour.begin(), colour.end())) << "alpha's 65535 is not a colour";
  EXPECT_EQ(s.auto_window.low, sorted_percentile(colour, kAutoLowPercentile));
  EXPECT_EQ(s.auto_window.high, sorted_percentile(colour, kAutoHighPercentile));
  double total = 0;
  for (float c : s.histogram) total += c;
  EXPECT_EQ(total, double(colour.size()));
  // Deeper than 8 bits, "as stored" would be mostly black: the view opens at the percentiles.
  const ContrastWindow w = colour_default_window(img, s);
  EXPECT_EQ(w.low, s.auto_window.low);
  EXPECT_EQ(w.high, s.auto_window.high);
}

TEST(Display, ImagesWithoutFiniteSamplesKeepTheDefaultWindow) {
  Image img = make_image(2, 2, 1, SampleType::F32);
  float* p = samples<float>(img);
  for (int i = 0; i < 4; i++) p[i] = std::numeric_limits<float>::infinity();
  const ChannelStats s = channel_stats(img, 0);
  EXPECT_EQ(s.auto_window.low, 0.0);
  EXPECT_EQ(s.auto_window.high, 1.0);
  EXPECT_EQ(channel_stats(img, 5).histogram.size(), size_t(kHistogramBins)) << "a missing channel is no crash";
}

}  // namespace
}  // namespace celldrop

// Colour deconvolution (src/core/stains.cpp): pixels made by Beer-Lambert's law from known amounts of
// hematoxylin and DAB (stain_mix.h: the published stain vectors written out apart) unmix to those amounts.
#include <gtest/gtest.h>

#include <cmath>

#include "core/normalize.h"
#include "core/stains.h"
#include "stain_mix.h"

using namespace celldrop;

namespace {

// A row of pixels, one per (h, d) pair, with a fourth (alpha) channel when `alpha`.
template <class T>
Image row_of(const std::vector<std::pair<double, double>>& amounts, SampleType type, bool alpha) {
  const int C = alpha ? 4 : 3;
  Image img = make_image(int(amounts.size()), 1, C, type);
  T* p = samples<T>(img);
  for (size_t i = 0; i < amounts.size(); ++i) {
    mix_stains<T>(amounts[i].first, amounts[i].second, p + i * size_t(C));
    if (alpha) p[i * size_t(C) + 3] = T(~T(0)) / 3;  // alpha must change nothing
  }
  img.pixel_size_x_um = img.pixel_size_y_um = 0.25;
  return img;
}

const std::vector<std::pair<double, double>> kAmounts = {
    {0.0, 0.0}, {0.3, 0.0}, {0.0, 0.4}, {0.5, 0.5}, {0.1, 0.9}, {0.8, 0.05}};

}  // namespace

TEST(Stains, UnmixesBeerLambertMixesOf16BitSamples) {
  const Image rgb = row_of<uint16_t>(kAmounts, SampleType::U16, false);
  for (Stain stain : {Stain::Hematoxylin, Stain::Dab}) {
    Image out;
    std::string error;
    ASSERT_TRUE(stain_density(rgb, stain, StainVectors{}, &out, &error)) << error;
    ASSERT_EQ(out.channels, 1);
    ASSERT_EQ(out.type, SampleType::F32);
    EXPECT_EQ(out.pixel_size_x_um, 0.25);
    for (size_t i = 0; i < kAmounts.size(); ++i) {
      const double want = stain == Stain::Hematoxylin ? kAmounts[i].first : kAmounts[i].second;
      EXPECT_NEAR(samples<float>(out)[i], want, 2e-4) << stain_name(stain) << " at pixel " << i;
    }
  }
}

// 8 bits round each sample to 1/255 of the light, which moves an amount by a few thousandths.
TEST(Stains, UnmixesEightBitRgbaWithItsAlphaLeftOut) {
  const Image rgba = row_of<uint8_t>(kAmounts, SampleType::U8, true);
  Image h, d;
  std::string error;
  ASSERT_TRUE(stain_density(rgba, Stain::Hematoxylin, StainVectors{}, &h, &error)) << error;
  ASSERT_TRUE(stain_density(rgba, Stain::Dab, StainVectors{}, &d, &error)) << error;
  for (size_t i = 0; i < kAmounts.size(); ++i) {
    EXPECT_NEAR(samples<float>(h)[i], kAmounts[i].first, 0.02) << i;
    EXPECT_NEAR(samples<float>(d)[i], kAmounts[i].second, 0.02) << i;
  }
  EXPECT_EQ(samples<float>(h)[0], 0.0f);  // white is no stain at all
}

TEST(Stains, BlackStaysFinite) {
  Image black = make_image(1, 1, 3, SampleType::U8);
  Image out;
  std::string error;
  ASSERT_TRUE(stain_density(black, Stain::Dab, StainVectors{}, &out, &error)) << error;
  EXPECT_TRUE(std::isfinite(samples<float>(out)[0]));
}

TEST(Stains, RefusesWhatIsNoRgbPicture) {
  EXPECT_TRUE(can_unmix_stains(make_image(4, 4, 3, SampleType::U8)));
  EXPECT_TRUE(can_unmix_stains(make_image(4, 4, 4, SampleType::U16)));
  EXPECT_FALSE(can_unmix_stains(make_image(4, 4, 1, SampleType::U16)));
  EXPECT_FALSE(can_unmix_stains(make_image(4, 4, 3, SampleType::F32)));
  EXPECT_FALSE(can_unmix_stains(Image{}));
  Image out;
  std::string error;
  EXPECT_FALSE(stain_density(make_image(4, 4, 1, SampleType::U16), Stain::Hematoxylin, StainVectors{}, &out, &error));
  EXPECT_NE(error.find("needs an RGB picture"), std::string::npos) << error;
  EXPECT_NE(error.find("1 channel"), std::string::npos) << error;
  EXPECT_FALSE(stain_density(make_image(4, 4, 3, SampleType::F32), Stain::Dab, StainVectors{}, &out, &error));
  EXPECT_NE(error.find("8 or 16-bit"), std::string::npos) << error;
  EXPECT_FALSE(stain_density(make_image(4, 4, 3, SampleType::U8), Stain::None, StainVectors{}, &out, &error));
}

TEST(Stains, NamesReadBack) {
  for (Stain stain : {Stain::Hematoxylin, Stain::Dab}) {
    Stain back = Stain::None;
    EXPECT_TRUE(parse_stain(stain_name(stain), &back));
    EXPECT_EQ(back, stain);
  }
  Stain s = Stain::None;
  EXPECT_TRUE(parse_stain("DAB", &s));
  EXPECT_FALSE(parse_stain("eosin", &s));
  EXPECT_FALSE(parse_stain("", &s));
}

// Channel selection with a stain gives its density; beside channels it is refused.
TEST(Stains, AChannelSelectionOfAStain) {
  const Image rgb = row_of<uint16_t>(kAmounts, SampleType::U16, false);
  ChannelSelection selection;
  selection.stain = Stain::Dab;
  Image out;
  std::string error;
  ASSERT_TRUE(select_channels(rgb, selection, &out, &error)) << error;
  EXPECT_NEAR(samples<float>(out)[4], 0.9, 2e-4);
  selection.merge = true;
  EXPECT_FALSE(select_channels(rgb, selection, &out, &error));
  EXPECT_NE(error.find("not both"), std::string::npos) << error;
}

// --- Estimating a slide's own stain colours ----------------------------------------------------------
namespace {

// Another lab's stains: a purple hematoxylin (Macenko et al.'s reference for H&E) and a dark, neutral
// DAB, 20 degrees apart where Ruifrok's are 37.
const double kPurpleH[3] = {0.5626, 0.7201, 0.4062}, kDarkDab[3] = {0.40, 0.60, 0.69};
const double kRuifrokH[3] = {0.650, 0.704, 0.286}, kRuifrokDab[3] = {0.268, 0.570, 0.776};
const double kEosin[3] = {0.072, 0.990, 0.105};

double degrees(const double a[3], const double b[3]) {
  double dot = 0, la = 0, lb = 0;
  for (int k = 0; k < 3; ++k) dot += a[k] * b[k], la += a[k] * a[k], lb += b[k] * b[k];
  return std::acos(std::min(1.0, dot / std::sqrt(la * lb))) * 180.0 / 3.14159265358979323846;
}

// A 96 x 96 slide: a white margin, then pixels of the first stain alone, of the second alone and of
// mixes, each amount drawn from 0.1..1 (a fixed sequence, so the test is deterministic). With
// `second` false the second stain is left out.
template <class T>
Image slide_of(const double first[3], const double second[3], SampleType type, bool with_second = true) {
  Image img = make_image(96, 96, 3, type);
  T* p = samples<T>(img);
  uint32_t state = 12345;
  auto uniform = [&]() {
    state = state * 1664525u + 1013904223u;
    return 0.1 + 0.9 * double(state >> 8) / double(1u << 24);
  };
  for (int y = 0; y < 96; ++y) {
    for (int x = 0; x < 96; ++x) {
      double a = 0, b = 0;
      if (y >= 8) {
        const int kind = (x + y) % 3;
        a = kind != 1 ? uniform() : 0.0;
        b = kind != 0 && with_second ? uniform() : 0.0;
      }
      mix_stains_of(first, second, a, b, p + (size_t(y) * 96 + size_t(x)) * 3);
    }
  }
  return img;
}

}  // namespace

TEST(Stains, EstimatesAnotherLabsColoursFromTheSlide) {
  for (SampleType type : {SampleType::U16, SampleType::U8}) {
    const Image rgb = type == SampleType::U16 ? slide_of<uint16_t>(kPurpleH, kDarkDab, type)
                                              : slide_of<uint8_t>(kPurpleH, kDarkDab, type);
    StainVectors found;
    std::string error;
    ASSERT_TRUE(estimate_stain_vectors(rgb, &found, &error)) << error;
    EXPECT_LT(degrees(found.hematoxylin, kPurpleH), 1.5) << stain_vector_text(found.hematoxylin);
    EXPECT_LT(degrees(found.dab, kDarkDab), 1.5) << stain_vector_text(found.dab);
    // Unmixed with them, a pixel of DAB alone has no hematoxylin; with Ruifrok's a quarter of its DAB
    // reads as hematoxylin: the brown blob a fluorescence model would take for a nucleus.
    Image with_found, with_standard;
    ASSERT_TRUE(stain_density(rgb, Stain::Hematoxylin, found, &with_found, &error)) << error;
    ASSERT_TRUE(stain_density(rgb, Stain::Hematoxylin, StainVectors{}, &with_standard, &error)) << error;
    double worst_found = 0, worst_standard = 0;
    for (int y = 8; y < 96; ++y) {
      for (int x = 0; x < 96; ++x) {
        if ((x + y) % 3 != 1) continue;  // DAB alone
        const size_t i = size_t(y) * 96 + size_t(x);
        worst_found = std::max(worst_found, double(std::abs(samples<float>(with_found)[i])));
        worst_standard = std::max(worst_standard, double(samples<float>(with_standard)[i]));
      }
    }
    EXPECT_LT(worst_found, 0.03);
    EXPECT_GT(worst_standard, 0.2);
  }
  // Ruifrok's own colours are found again: estimating on a standard slide changes nothing that matters.
  StainVectors found;
  std::string error;
  ASSERT_TRUE(estimate_stain_vectors(slide_of<uint16_t>(kRuifrokH, kRuifrokDab, SampleType::U16), &found, &error));
  EXPECT_LT(degrees(found.hematoxylin, kRuifrokH), 1.5);
  EXPECT_LT(degrees(found.dab, kRuifrokDab), 1.5);
  EXPECT_EQ(stain_vector_text(StainVectors{}.hematoxylin), "0.650 0.704 0.286");
}

TEST(Stains, EstimationRefusesSlidesItCannotRead) {
  StainVectors found;
  const StainVectors before = found;
  std::string error;
  // Glass alone.
  Image white = make_image(64, 64, 3, SampleType::U8);
  std::fill(white.data.begin(), white.data.end(), uint8_t(255));
  EXPECT_FALSE(estimate_stain_vectors(white, &found, &error));
  EXPECT_NE(error.find("only 0 pixels are stained"), std::string::npos) << error;
  // Hematoxylin alone: the second colour would be noise.
  EXPECT_FALSE(estimate_stain_vectors(slide_of<uint8_t>(kPurpleH, kDarkDab, SampleType::U8, false), &found, &error));
  EXPECT_NE(error.find("all of one colour"), std::string::npos) << error;
  // H&E: the second colour is eosin's pink, no DAB.
  EXPECT_FALSE(estimate_stain_vectors(slide_of<uint8_t>(kRuifrokH, kEosin, SampleType::U8), &found, &error));
  EXPECT_NE(error.find("nearest DAB"), std::string::npos) << error;
  EXPECT_NE(error.find("eosin"), std::string::npos) << error;
  EXPECT_FALSE(estimate_stain_vectors(make_image(8, 8, 1, SampleType::U8), &found, &error));
  EXPECT_NE(error.find("needs an RGB picture"), std::string::npos) << error;
  for (int k = 0; k < 3; ++k) EXPECT_EQ(found.hematoxylin[k], before.hematoxylin[k]);  // untouched on failure
}

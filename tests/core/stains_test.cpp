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
    ASSERT_TRUE(stain_density(rgb, stain, &out, &error)) << error;
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
  ASSERT_TRUE(stain_density(rgba, Stain::Hematoxylin, &h, &error)) << error;
  ASSERT_TRUE(stain_density(rgba, Stain::Dab, &d, &error)) << error;
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
  ASSERT_TRUE(stain_density(black, Stain::Dab, &out, &error)) << error;
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
  EXPECT_FALSE(stain_density(make_image(4, 4, 1, SampleType::U16), Stain::Hematoxylin, &out, &error));
  EXPECT_NE(error.find("needs an RGB picture"), std::string::npos) << error;
  EXPECT_NE(error.find("1 channel"), std::string::npos) << error;
  EXPECT_FALSE(stain_density(make_image(4, 4, 3, SampleType::F32), Stain::Dab, &out, &error));
  EXPECT_NE(error.find("8 or 16-bit"), std::string::npos) << error;
  EXPECT_FALSE(stain_density(make_image(4, 4, 3, SampleType::U8), Stain::None, &out, &error));
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

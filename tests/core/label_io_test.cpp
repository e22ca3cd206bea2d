#include "core/label_io.h"

#include <gtest/gtest.h>

#include "core/png_write.h"

using namespace celldrop;

TEST(LabelIo, SixteenBitPngRoundTrip) {
  Labels l;
  l.width = 5;
  l.height = 3;
  l.data = {0, 1, 1, 0, 65535, 0, 2, 2, 0, 7, 300, 0, 0, 0, 9};
  std::vector<uint8_t> png;
  std::string error;
  ASSERT_TRUE(write_labels_png(l, PngWriteOptions(), &png, &error)) << error;
  Labels back;
  ASSERT_TRUE(decode_labels(png.data(), png.size(), &back, &error)) << error;
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.data, l.data);
}

TEST(LabelIo, RefusesImagesThatAreNotLabels) {
  Labels l;
  std::string error;
  Image rgb = make_image(4, 4, 3, SampleType::U8);
  EXPECT_FALSE(labels_from_image(rgb, &l, &error));
  EXPECT_NE(error.find("has 3"), std::string::npos) << error;
  Image f = make_image(4, 4, 1, SampleType::F32);
  EXPECT_FALSE(labels_from_image(f, &l, &error));
  EXPECT_NE(error.find("floating-point"), std::string::npos) << error;
  Image u32 = make_image(2, 1, 1, SampleType::U32);
  samples<uint32_t>(u32)[1] = 70000;
  ASSERT_TRUE(labels_from_image(u32, &l, &error)) << error;
  EXPECT_EQ(l.data, (std::vector<uint32_t>{0, 70000}));
  const uint8_t junk[] = {1, 2, 3};
  EXPECT_FALSE(decode_labels(junk, sizeof junk, &l, &error));
  EXPECT_FALSE(error.empty());
}

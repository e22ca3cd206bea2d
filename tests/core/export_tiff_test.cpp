// Label TIFF: read back by CellDrop's own TIFF decoder (libtiff), 16-bit and 32-bit, calibrated.
#include <gtest/gtest.h>

#include <cstring>

#include "core/decode.h"
#include "core/export.h"

namespace celldrop {
namespace {

Labels pattern(int w, int h, uint32_t scale) {
  Labels l;
  l.width = w;
  l.height = h;
  l.data.resize(size_t(w) * size_t(h));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) l.at(x, y) = ((x / 7 + y / 5) % 4 == 0) ? 0 : uint32_t(1 + x / 7 + 40 * (y / 5)) * scale;
  return l;
}

TEST(ExportTiff, SixteenBitLabelsRoundTrip) {
  const Labels l = pattern(301, 203, 1);
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(write_labels_tiff(l, LabelTiffOptions(), &bytes, &error)) << error;
  EXPECT_EQ(std::memcmp(bytes.data(), "II*\0", 4), 0);  // classic little-endian TIFF
  EXPECT_LT(bytes.size(), l.data.size() * 2 / 4);       // Deflate did compress
  Image img;
  ASSERT_TRUE(decode_image(bytes.data(), bytes.size(), DecodeOptions(), &img, &error)) << error;
  ASSERT_EQ(img.width, 301);
  ASSERT_EQ(img.height, 203);
  ASSERT_EQ(img.channels, 1);
  ASSERT_EQ(img.type, SampleType::U16);
  const uint16_t* s = samples<uint16_t>(img);
  for (size_t i = 0; i < l.data.size(); ++i) ASSERT_EQ(s[i], l.data[i]) << i;
  EXPECT_EQ(img.pixel_size_x_um, 0.0);
}

TEST(ExportTiff, MoreThan65535ObjectsBecome32Bit) {
  const Labels l = pattern(64, 48, 5000);  // ids up to ~1.3e6
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(write_labels_tiff(l, LabelTiffOptions(), &bytes, &error)) << error;
  Image img;
  ASSERT_TRUE(decode_image(bytes.data(), bytes.size(), DecodeOptions(), &img, &error)) << error;
  ASSERT_EQ(img.type, SampleType::U32);
  const uint32_t* s = samples<uint32_t>(img);
  for (size_t i = 0; i < l.data.size(); ++i) ASSERT_EQ(s[i], l.data[i]) << i;
}

TEST(ExportTiff, PixelSizeIsWrittenForImageJ) {
  const Labels l = pattern(40, 30, 1);
  LabelTiffOptions o;
  o.pixel_size_um = 0.325;
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(write_labels_tiff(l, o, &bytes, &error)) << error;
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_NE(text.find("unit=micron"), std::string::npos);
  ImageInfo info;
  ASSERT_TRUE(probe_image(bytes.data(), bytes.size(), &info, &error)) << error;
  EXPECT_NEAR(info.pixel_size_x_um, 0.325, 1e-6);
}

TEST(ExportTiff, EmptyLabelsAreAnError) {
  Labels l;
  std::vector<uint8_t> bytes;
  std::string error;
  EXPECT_FALSE(write_labels_tiff(l, LabelTiffOptions(), &bytes, &error));
  EXPECT_NE(error.find("empty"), std::string::npos);
}

}  // namespace
}  // namespace celldrop

// ImageJ .roi: the header fields and coordinates as ImageJ's RoiDecoder reads them (big-endian).
#include <gtest/gtest.h>

#include <cstring>

#include "core/export.h"

namespace celldrop {
namespace {

int get16(const std::vector<uint8_t>& b, size_t at) { return int16_t(uint16_t(b[at] << 8 | b[at + 1])); }

TEST(ExportRoi, PolygonHeaderAndRelativeCoordinates) {
  Contour c;
  c.label = 5;
  c.points = {{10, 20}, {14, 20}, {14, 22}, {12, 22}, {12, 25}, {10, 25}};
  std::vector<uint8_t> roi;
  std::string error;
  ASSERT_TRUE(write_imagej_roi(c, &roi, &error)) << error;
  ASSERT_EQ(roi.size(), 64u + 4 * 6);
  EXPECT_EQ(std::memcmp(roi.data(), "Iout", 4), 0);
  EXPECT_GE(get16(roi, 4), 222);  // version
  EXPECT_EQ(roi[6], 0);           // polygon
  EXPECT_EQ(get16(roi, 8), 20);   // top
  EXPECT_EQ(get16(roi, 10), 10);  // left
  EXPECT_EQ(get16(roi, 12), 25);  // bottom
  EXPECT_EQ(get16(roi, 14), 14);  // right
  EXPECT_EQ(get16(roi, 16), 6);   // vertices
  EXPECT_EQ(get16(roi, 50), 0);   // options: integer coordinates only
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(get16(roi, 64 + 2 * size_t(i)), c.points[size_t(i)].x - 10);
    EXPECT_EQ(get16(roi, 64 + 12 + 2 * size_t(i)), c.points[size_t(i)].y - 20);
  }
}

TEST(ExportRoi, FarCoordinatesAddFloats) {
  Contour c;
  c.label = 1;
  c.points = {{40000, 5}, {40003, 5}, {40003, 9}, {40000, 9}};
  std::vector<uint8_t> roi;
  std::string error;
  ASSERT_TRUE(write_imagej_roi(c, &roi, &error)) << error;
  ASSERT_EQ(roi.size(), 64u + 4 * 4 + 8 * 4);
  EXPECT_EQ(get16(roi, 50), 128);  // SUB_PIXEL_RESOLUTION
  uint32_t bits = uint32_t(roi[80]) << 24 | uint32_t(roi[81]) << 16 | uint32_t(roi[82]) << 8 | roi[83];
  float x0;
  std::memcpy(&x0, &bits, 4);
  EXPECT_EQ(x0, 40000.0f);
}

TEST(ExportRoi, ZipNamesFollowImageJ) {
  Contour a;
  a.label = 1;
  a.points = {{10, 20}, {14, 20}, {14, 30}, {10, 30}};
  std::vector<uint8_t> zip;
  std::string error;
  ASSERT_TRUE(write_imagej_roi_zip({a, a}, &zip, &error)) << error;
  const std::string text(zip.begin(), zip.end());
  EXPECT_NE(text.find("0001-0025-0012.roi"), std::string::npos);
  EXPECT_NE(text.find("0002-0025-0012.roi"), std::string::npos);
  Contour empty;
  EXPECT_FALSE(write_imagej_roi_zip({a, empty}, &zip, &error));
  EXPECT_NE(error.find("outline"), std::string::npos);
}

}  // namespace
}  // namespace celldrop

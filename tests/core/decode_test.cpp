// Decoding dispatch and the stb_image formats (src/core/decode.cpp, decode_stb.cpp). PNGs are assembled
// here chunk by chunk with zlib, so every bit depth, colour type and pHYs variant is under the test's
// control; JPEG and BMP come from stb_image_write.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/decode.h"
#include "core/png_chunks.h"
#include "zlib.h"

#include "core/stb_image_write_static.h"

using namespace celldrop;

namespace {

// Sample (x, y, c) of the test pattern at `bits` depth.
uint32_t pattern(int x, int y, int c, int bits) {
  uint32_t v = uint32_t(x * 37 + y * 101 + c * 59) * 2654435761u;
  v ^= v >> 16;
  return bits == 8 ? (v & 0xFF) : (v & 0xFFFF);
}

int png_channels(int color_type) {
  switch (color_type) {
    case 0: return 1;
    case 4: return 2;
    case 2: return 3;
    case 6: return 4;
  }
  return 0;
}

struct PngSpec {
  int width = 9, height = 7, bits = 8, color_type = 0;
  uint32_t phys_x = 0, phys_y = 0;  // pixels per unit; 0 = no pHYs chunk
  uint8_t phys_unit = 1;            // 1 = metre
  std::vector<uint8_t> idat_override;
};

std::vector<uint8_t> make_png(const PngSpec& s) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, uint32_t(s.width));
  put_be32(ihdr, uint32_t(s.height));
  ihdr.insert(ihdr.end(), {uint8_t(s.bits), uint8_t(s.color_type), 0, 0, 0});
  put_chunk(png, "IHDR", ihdr);
  if (s.phys_x) {
    std::vector<uint8_t> phys;
    put_be32(phys, s.phys_x);
    put_be32(phys, s.phys_y);
    phys.push_back(s.phys_unit);
    put_chunk(png, "pHYs", phys);
  }
  std::vector<uint8_t> idat = s.idat_override;
  if (idat.empty()) {
    std::vector<uint8_t> raw;
    const int C = png_channels(s.color_type);
    for (int y = 0; y < s.height; ++y) {
      raw.push_back(0);  // filter: none
      for (int x = 0; x < s.width; ++x)
        for (int c = 0; c < C; ++c) {
          uint32_t v = pattern(x, y, c, s.bits);
          if (s.bits == 16) raw.push_back(uint8_t(v >> 8));
          raw.push_back(uint8_t(v));
        }
    }
    uLongf len = compressBound(uLong(raw.size()));
    idat.resize(len);
    compress(idat.data(), &len, raw.data(), uLong(raw.size()));
    idat.resize(len);
  }
  put_chunk(png, "IDAT", idat);
  put_chunk(png, "IEND", {});
  return png;
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

std::vector<uint8_t> smooth_rgb(int w, int h, int C) {
  std::vector<uint8_t> px(size_t(w) * h * C);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < C; ++c) px[(size_t(y) * w + x) * C + c] = uint8_t(40 + x * 3 + y * 2 + c * 20);
  return px;
}

class PngLayouts : public ::testing::TestWithParam<std::pair<int, int>> {};  // bits, colour type

TEST_P(PngLayouts, DecodesExactSamples) {
  PngSpec s;
  s.bits = GetParam().first;
  s.color_type = GetParam().second;
  std::vector<uint8_t> png = make_png(s);
  const int C = png_channels(s.color_type);
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(png.data(), png.size(), &info, &error)) << error;
  EXPECT_EQ(info.format, "png");
  EXPECT_EQ(info.channels, C);
  EXPECT_EQ(info.type, s.bits == 16 ? SampleType::U16 : SampleType::U8);
  Image img;
  ASSERT_TRUE(decode_image(png.data(), png.size(), DecodeOptions(), &img, &error)) << error;
  ASSERT_EQ(img.width, s.width);
  ASSERT_EQ(img.height, s.height);
  ASSERT_EQ(img.channels, C);
  int wrong = 0;
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x)
      for (int c = 0; c < C; ++c) wrong += img.at(x, y, c) != float(pattern(x, y, c, s.bits));
  EXPECT_EQ(wrong, 0);
}

INSTANTIATE_TEST_SUITE_P(BitsAndColour, PngLayouts,
                         ::testing::Values(std::make_pair(8, 0), std::make_pair(8, 4), std::make_pair(8, 2),
                                           std::make_pair(8, 6), std::make_pair(16, 0), std::make_pair(16, 4),
                                           std::make_pair(16, 2), std::make_pair(16, 6)));

TEST(DecodePng, PixelSizeFromPhysInMetres) {
  PngSpec s;
  s.phys_x = 2000000;  // pixels per metre -> 0.5 um
  s.phys_y = 1000000;
  std::vector<uint8_t> png = make_png(s);
  Image img;
  std::string error;
  ASSERT_TRUE(decode_image(png.data(), png.size(), DecodeOptions(), &img, &error)) << error;
  EXPECT_DOUBLE_EQ(img.pixel_size_x_um, 0.5);
  EXPECT_DOUBLE_EQ(img.pixel_size_y_um, 1.0);
  s.phys_unit = 0;  // aspect ratio only: no physical size
  png = make_png(s);
  ImageInfo info;
  ASSERT_TRUE(probe_image(png.data(), png.size(), &info, &error)) << error;
  EXPECT_EQ(info.pixel_size_x_um, 0.0);
  // What an image editor stamps (72, 96, 300, 1200 dpi, rounded to pixels per metre as PIL and GIMP
  // write them) is no calibration; 0.325 um pixels (3,076,923 per metre) and 1201 dpi are.
  s.phys_unit = 1;
  for (uint32_t per_metre : {2835u, 3780u, 11811u, 47244u, 3076923u, 47283u}) {
    s.phys_x = s.phys_y = per_metre;
    png = make_png(s);
    ASSERT_TRUE(probe_image(png.data(), png.size(), &info, &error)) << error;
    const bool calibration = per_metre == 3076923u || per_metre == 47283u;
    EXPECT_EQ(info.pixel_size_x_um, calibration ? 1e6 / per_metre : 0.0) << per_metre;
  }
}

TEST(DecodePng, DeclaredSizeBeyondTheBudgetFailsBeforeDecoding) {
  PngSpec s;
  s.width = 30000;
  s.height = 30000;
  s.idat_override = {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};  // empty zlib stream
  std::vector<uint8_t> png = make_png(s);
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(png.data(), png.size(), &info, &error)) << error;  // probing is harmless
  EXPECT_EQ(info.width, 30000);
  Image img;
  DecodeOptions budget;
  budget.max_samples = 1000000;
  EXPECT_FALSE(decode_image(png.data(), png.size(), budget, &img, &error));
  EXPECT_NE(error.find("PNG: 30000 x 30000 x 1 samples exceed the limit of 1000000"), std::string::npos) << error;
  // Beyond what stb_image decodes at all (1 GB): refused at the header with advice.
  s.width = s.height = 100000;
  png = make_png(s);
  EXPECT_FALSE(probe_image(png.data(), png.size(), &info, &error));
  EXPECT_NE(error.find("convert it to TIFF"), std::string::npos) << error;
}

TEST(DecodePng, InflationBombIsRefused) {
  PngSpec s;
  s.width = 64;
  s.height = 64;
  std::vector<uint8_t> zeros(size_t(32) << 20, 0);  // 32 MB of filter-0 rows, for a 4 kB image
  uLongf len = compressBound(uLong(zeros.size()));
  s.idat_override.resize(len);
  compress(s.idat_override.data(), &len, zeros.data(), uLong(zeros.size()));
  s.idat_override.resize(len);
  std::vector<uint8_t> png = make_png(s);
  Image img;
  std::string error;
  EXPECT_FALSE(decode_image(png.data(), png.size(), DecodeOptions(), &img, &error));
  EXPECT_NE(error.find("inflates beyond the declared image size"), std::string::npos) << error;
}

TEST(DecodePng, TruncatedAndCorruptFilesFail) {
  PngSpec s;
  s.width = 64;
  s.height = 64;
  s.bits = 16;
  std::vector<uint8_t> png = make_png(s);
  for (size_t cut : {size_t(8), size_t(20), size_t(40), png.size() / 2}) {
    Image img;
    std::string error;
    EXPECT_FALSE(decode_image(png.data(), cut, DecodeOptions(), &img, &error)) << "cut at " << cut;
    EXPECT_EQ(error.compare(0, 5, "PNG: "), 0) << error;
    EXPECT_TRUE(img.empty());
  }
}

// stb_image_write always writes three-component (YCbCr) JPEGs, so only colour is covered here.
TEST(DecodeJpeg, ColourDecodesCloseToTheOriginal) {
  for (int C : {3}) {
    const int w = 40, h = 24;
    std::vector<uint8_t> px = smooth_rgb(w, h, C), jpg;
    ASSERT_TRUE(stbi_write_jpg_to_func(append_bytes, &jpg, w, h, C, px.data(), 100));
    ImageInfo info;
    std::string error;
    ASSERT_TRUE(probe_image(jpg.data(), jpg.size(), &info, &error)) << error;
    EXPECT_EQ(info.format, "jpeg");
    EXPECT_EQ(info.channels, C);
    Image img;
    ASSERT_TRUE(decode_image(jpg.data(), jpg.size(), DecodeOptions(), &img, &error)) << error;
    ASSERT_EQ(img.width, w);
    ASSERT_EQ(img.height, h);
    ASSERT_EQ(img.channels, C);
    double worst = 0;
    for (size_t i = 0; i < px.size(); ++i) worst = std::max(worst, std::fabs(double(img.data[i]) - px[i]));
    EXPECT_LE(worst, 8.0);  // quality 100 on a smooth ramp: lossy, but only just
  }
}

TEST(DecodeJpeg, TruncatedFilesFailAndTrailingBytesAreTolerated) {
  std::vector<uint8_t> px = smooth_rgb(64, 64, 3), jpg;
  ASSERT_TRUE(stbi_write_jpg_to_func(append_bytes, &jpg, 64, 64, 3, px.data(), 90));
  Image img;
  std::string error;
  EXPECT_FALSE(decode_image(jpg.data(), 30, DecodeOptions(), &img, &error));
  EXPECT_EQ(error.compare(0, 6, "JPEG: "), 0) << error;
  // Cut inside the entropy-coded data: stb alone would pad it with grey and succeed.
  EXPECT_FALSE(decode_image(jpg.data(), jpg.size() * 3 / 4, DecodeOptions(), &img, &error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  // Bytes after EOI (some cameras append data) do not matter.
  jpg.insert(jpg.end(), {0x00, 0x11, 0xFF, 0x22});
  EXPECT_TRUE(decode_image(jpg.data(), jpg.size(), DecodeOptions(), &img, &error)) << error;
}

// stb_image 2.27 writes past its Huffman table when a DHT segment declares more than 256 codes (found by
// fuzz_jpeg); the decoder must refuse such a file before stb builds the table.
TEST(DecodeJpeg, HuffmanTableWithTooManyCodesIsRefused) {
  std::vector<uint8_t> px = smooth_rgb(16, 16, 3), jpg;
  ASSERT_TRUE(stbi_write_jpg_to_func(append_bytes, &jpg, 16, 16, 3, px.data(), 90));
  size_t dht = 0;
  for (size_t i = 2; i + 1 < jpg.size(); ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC4) { dht = i; break; }
  ASSERT_GT(dht, 0u);
  for (size_t i = 0; i < 16; ++i) jpg[dht + 5 + i] = 0x20;  // 16 x 32 = 512 codes in the first table
  ImageInfo info;
  Image img;
  std::string error;
  EXPECT_FALSE(probe_image(jpg.data(), jpg.size(), &info, &error));
  EXPECT_NE(error.find("Huffman table declares more than 256 codes"), std::string::npos) << error;
  EXPECT_FALSE(decode_image(jpg.data(), jpg.size(), DecodeOptions(), &img, &error));
}

TEST(DecodeBmp, RgbAndRgbaAreExact) {
  for (int C : {3, 4}) {
    const int w = 13, h = 5;  // odd width: BMP rows are padded to 4 bytes
    std::vector<uint8_t> px = smooth_rgb(w, h, C), bmp;
    ASSERT_TRUE(stbi_write_bmp_to_func(append_bytes, &bmp, w, h, C, px.data()));
    Image img;
    std::string error;
    ASSERT_TRUE(decode_image(bmp.data(), bmp.size(), DecodeOptions(), &img, &error)) << error;
    EXPECT_EQ(img.channels, C);
    EXPECT_EQ(img.data, px);
    ImageInfo info;
    ASSERT_TRUE(probe_image(bmp.data(), bmp.size(), &info, &error)) << error;
    EXPECT_EQ(info.format, "bmp");
  }
}

TEST(DecodeBmp, TruncatedPixelDataFails) {
  std::vector<uint8_t> px = smooth_rgb(13, 5, 3), bmp;
  ASSERT_TRUE(stbi_write_bmp_to_func(append_bytes, &bmp, 13, 5, 3, px.data()));
  Image img;
  std::string error;
  EXPECT_FALSE(decode_image(bmp.data(), bmp.size() - 1, DecodeOptions(), &img, &error));
  EXPECT_NE(error.find("BMP: the file ends before its pixel data does"), std::string::npos) << error;
}

TEST(Decode, UnknownEmptyAndSinglePageFormatsGiveClearErrors) {
  ImageInfo info;
  Image img;
  std::string error;
  const uint8_t text[] = "hello, not an image";
  EXPECT_FALSE(probe_image(text, sizeof text, &info, &error));
  EXPECT_NE(error.find("expected TIFF, PNG, JPEG or BMP"), std::string::npos) << error;
  EXPECT_FALSE(decode_image(text, 0, DecodeOptions(), &img, &error));
  EXPECT_EQ(error, "the file is empty");
  std::vector<uint8_t> png = make_png(PngSpec());
  DecodeOptions second_page;
  second_page.page = 1;
  EXPECT_FALSE(decode_image(png.data(), png.size(), second_page, &img, &error));
  EXPECT_NE(error.find("single page"), std::string::npos) << error;
  second_page.page = -1;
  EXPECT_FALSE(decode_image(png.data(), png.size(), second_page, &img, &error));
  EXPECT_NE(error.find("pages count from 0"), std::string::npos) << error;
}

}  // namespace

// PNG writing is checked against an independent decoder (stb_image, which the core also uses to read)
// and by walking the chunks ourselves: signature, CRCs, IHDR fields, pHYs.
#include "core/png_write.h"

#include <gtest/gtest.h>
#include <zlib.h>

// A private copy of stb_image's PNG reader (the core's is static to decode_stb.cpp).
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace celldrop {
namespace {

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// Chunk type -> payload of its first occurrence; fails the test on a bad CRC or a truncated chunk.
std::map<std::string, std::vector<uint8_t>> chunks(const std::vector<uint8_t>& png) {
  std::map<std::string, std::vector<uint8_t>> found;
  static const uint8_t kSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  EXPECT_TRUE(png.size() > 8 && std::memcmp(png.data(), kSig, 8) == 0);
  size_t at = 8;
  while (at + 12 <= png.size()) {
    uint32_t len = be32(&png[at]);
    EXPECT_LE(at + 12 + len, png.size());
    if (at + 12 + len > png.size()) break;
    std::string type(reinterpret_cast<const char*>(&png[at + 4]), 4);
    uint32_t crc = uint32_t(crc32(0L, &png[at + 4], uInt(4 + len)));
    EXPECT_EQ(crc, be32(&png[at + 8 + len])) << "CRC of " << type;
    if (!found.count(type)) found[type] = std::vector<uint8_t>(png.begin() + long(at + 8), png.begin() + long(at + 8 + len));
    at += 12 + len;
  }
  EXPECT_EQ(at, png.size()) << "bytes after the last chunk";
  EXPECT_TRUE(found.count("IEND"));
  return found;
}

Image pattern(int w, int h, int channels, SampleType type) {
  Image img = make_image(w, h, channels, type);
  uint32_t state = 12345;
  for (size_t i = 0; i < img.sample_count(); ++i) {
    state = state * 1103515245u + 12345u;
    // Smooth ramps plus noise, so the filters have something to choose between.
    uint32_t v = uint32_t(i * 7) + (state >> 20);
    if (type == SampleType::U8)
      img.data[i] = uint8_t(v);
    else
      samples<uint16_t>(img)[i] = uint16_t(v * 37);
  }
  return img;
}

TEST(PngWrite, EightBitRoundTripsEveryColorType) {
  for (int channels = 1; channels <= 4; ++channels) {
    Image img = pattern(37, 23, channels, SampleType::U8);
    std::vector<uint8_t> png;
    std::string error;
    ASSERT_TRUE(write_png(img, {}, &png, &error)) << error;
    auto c = chunks(png);
    ASSERT_EQ(c["IHDR"].size(), 13u);
    EXPECT_EQ(be32(&c["IHDR"][0]), 37u);
    EXPECT_EQ(be32(&c["IHDR"][4]), 23u);
    EXPECT_EQ(c["IHDR"][8], 8);
    EXPECT_FALSE(c.count("pHYs"));
    int w = 0, h = 0, n = 0;
    uint8_t* px = stbi_load_from_memory(png.data(), int(png.size()), &w, &h, &n, 0);
    ASSERT_NE(px, nullptr) << stbi_failure_reason();
    EXPECT_EQ(w, 37);
    EXPECT_EQ(h, 23);
    EXPECT_EQ(n, channels);
    EXPECT_EQ(std::memcmp(px, img.data.data(), img.data.size()), 0) << channels << " channel(s)";
    stbi_image_free(px);
  }
}

TEST(PngWrite, SixteenBitRoundTrips) {
  for (int channels : {1, 3}) {
    Image img = pattern(64, 50, channels, SampleType::U16);
    std::vector<uint8_t> png;
    std::string error;
    ASSERT_TRUE(write_png(img, {}, &png, &error)) << error;
    EXPECT_EQ(chunks(png)["IHDR"][8], 16);
    EXPECT_TRUE(stbi_is_16_bit_from_memory(png.data(), int(png.size())));
    int w = 0, h = 0, n = 0;
    uint16_t* px = stbi_load_16_from_memory(png.data(), int(png.size()), &w, &h, &n, 0);
    ASSERT_NE(px, nullptr) << stbi_failure_reason();
    ASSERT_EQ(n, channels);
    EXPECT_EQ(std::memcmp(px, img.data.data(), img.data.size()), 0);
    stbi_image_free(px);
  }
}

TEST(PngWrite, LabelsAsSixteenBitGray) {
  Labels labels;
  labels.width = 300;
  labels.height = 3;
  labels.data.resize(900);
  for (size_t i = 0; i < labels.data.size(); ++i) labels.data[i] = uint32_t(i * 73 % 65536);
  labels.data[5] = 65535;
  std::vector<uint8_t> png;
  std::string error;
  ASSERT_TRUE(write_labels_png(labels, {}, &png, &error)) << error;
  auto c = chunks(png);
  EXPECT_EQ(c["IHDR"][8], 16);
  EXPECT_EQ(c["IHDR"][9], 0);  // gray
  int w = 0, h = 0, n = 0;
  uint16_t* px = stbi_load_16_from_memory(png.data(), int(png.size()), &w, &h, &n, 0);
  ASSERT_NE(px, nullptr);
  ASSERT_EQ(n, 1);
  for (size_t i = 0; i < labels.data.size(); ++i) ASSERT_EQ(px[i], labels.data[i]) << "pixel " << i;
  stbi_image_free(px);

  labels.data[123] = 65536;
  EXPECT_FALSE(write_labels_png(labels, {}, &png, &error));
  EXPECT_NE(error.find("65536"), std::string::npos) << error;
  EXPECT_NE(error.find("TIFF"), std::string::npos) << error;
}

TEST(PngWrite, PixelSizeGoesIntoPhys) {
  Image img = pattern(8, 8, 1, SampleType::U8);
  PngWriteOptions options;
  options.pixel_size_x_um = 0.5;
  options.pixel_size_y_um = 0.25;
  std::vector<uint8_t> png;
  std::string error;
  ASSERT_TRUE(write_png(img, options, &png, &error)) << error;
  auto c = chunks(png);
  ASSERT_EQ(c["pHYs"].size(), 9u);
  EXPECT_EQ(be32(&c["pHYs"][0]), 2000000u);  // 0.5 um -> 2e6 pixels per metre
  EXPECT_EQ(be32(&c["pHYs"][4]), 4000000u);
  EXPECT_EQ(c["pHYs"][8], 1);  // metres
}

TEST(PngWrite, CompressionLevelsDecodeAlikeAndZeroIsLarger) {
  Image img = make_image(256, 256, 1, SampleType::U16);  // a smooth ramp compresses very well
  for (size_t i = 0; i < img.sample_count(); ++i) samples<uint16_t>(img)[i] = uint16_t(i);
  std::vector<uint8_t> stored, packed;
  std::string error;
  PngWriteOptions none, best;
  none.compression = 0;
  best.compression = 9;
  ASSERT_TRUE(write_png(img, none, &stored, &error));
  ASSERT_TRUE(write_png(img, best, &packed, &error));
  EXPECT_GT(stored.size(), img.data.size());
  EXPECT_LT(packed.size(), img.data.size() / 20);
  for (auto* png : {&stored, &packed}) {
    int w, h, n;
    uint16_t* px = stbi_load_16_from_memory(png->data(), int(png->size()), &w, &h, &n, 1);
    ASSERT_NE(px, nullptr);
    EXPECT_EQ(std::memcmp(px, img.data.data(), img.data.size()), 0);
    stbi_image_free(px);
  }
}

TEST(PngWrite, RejectsWhatPngCannotHold) {
  std::vector<uint8_t> png;
  std::string error;
  EXPECT_FALSE(write_png(make_image(4, 4, 1, SampleType::F32), {}, &png, &error));
  EXPECT_NE(error.find("float32"), std::string::npos) << error;
  EXPECT_FALSE(write_png(make_image(4, 4, 5, SampleType::U8), {}, &png, &error));
  EXPECT_NE(error.find("channels"), std::string::npos) << error;
  EXPECT_FALSE(write_png(Image{}, {}, &png, &error));
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  Image broken = make_image(4, 4, 1, SampleType::U8);
  broken.data.resize(3);
  EXPECT_FALSE(write_png(broken, {}, &png, &error));
}

}  // namespace
}  // namespace celldrop

// Opening images in the page (src/app/intake.cpp): the page's own sample budget is checked against the
// size a file declares before anything the size of the image is allocated, errors name the file and
// say what to do, and the fingerprint covers the file's bytes exactly as given.
#include "app/intake.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "core/export.h"
#include "core/png_chunks.h"
#include "core/png_write.h"
#include "core/sha256.h"
#include "core/tiff_test_writer.h"

// JPEG and BMP files from an encoder the core does not use for reading.
#include "core/stb_image_write_static.h"

// --- the largest allocation through operator new, while a test watches -----------------------------
// The decoders allocate the Image (std::vector) through operator new once a size has passed the
// budget, so the largest request while opening shows whether a refused size was ever allocated.
namespace {
std::atomic<bool> g_watching{false};
std::atomic<size_t> g_largest{0};

void* allocate(std::size_t n) {
  if (g_watching.load(std::memory_order_relaxed)) {
    size_t seen = g_largest.load(std::memory_order_relaxed);
    while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
  }
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace celldrop {
namespace {

// A 3 x 2 8-bit grey PNG (pixels 0, 40, 80 / 120, 160, 200) written by Python's zlib, and its SHA-256
// as Python's hashlib computes it: a reference that shares no code with the core.
const std::vector<uint8_t> kSmallPng = {
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x00, 0x00, 0x00, 0xB8, 0x1F, 0x39, 0xC6, 0x00, 0x00, 0x00, 0x10, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x60, 0xD0, 0x08, 0x60, 0xA8, 0x58, 0x70, 0x02, 0x00, 0x05, 0xF8, 0x02, 0x59,
    0x1C, 0x15, 0x2F, 0xF1, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};
const char* kSmallPngSha256 = "fa99bb009c4fa84bca419aa3a65a37275debfe0e8baea3d86a3e6f78dedaf5ea";

// A PNG that declares width x height pixels (colour type 0 = grey, 2 = RGB) and holds no pixel data:
// a few dozen bytes whose header alone decides what the page does.
std::vector<uint8_t> png_declaring(uint32_t width, uint32_t height, uint8_t colour_type) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {8, colour_type, 0, 0, 0});
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IEND", {});
  return png;
}

// A little-endian TIFF that declares width x height 8-bit grey pixels in one strip and stores 6 bytes.
std::vector<uint8_t> tiff_declaring(uint32_t width, uint32_t height) {
  struct Entry {
    uint16_t tag, type;
    uint32_t value;
  };
  const uint32_t data_offset = 8 + 2 + 9 * 12 + 4;
  const Entry entries[] = {{256, 4, width}, {257, 4, height}, {258, 3, 8},      {259, 3, 1},          {262, 3, 1},
                           {273, 4, data_offset}, {277, 3, 1}, {278, 4, height}, {279, 4, 6}};
  std::vector<uint8_t> b = {'I', 'I', 42, 0, 8, 0, 0, 0};
  auto le16 = [&](uint32_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); };
  auto le32 = [&](uint32_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}); };
  le16(9);
  for (const Entry& e : entries) {
    le16(e.tag);
    le16(e.type);
    le32(1);
    if (e.type == 3) {
      le16(e.value);
      le16(0);
    } else {
      le32(e.value);
    }
  }
  le32(0);
  b.resize(b.size() + 6, 0);
  return b;
}

struct Opening {
  bool ok = false;
  OpenedImage image;
  std::string error;
  size_t largest_allocation = 0;
};

Opening open(const std::vector<uint8_t>& bytes, const std::string& name, const std::string& url = "", int page = 0) {
  Opening o;
  g_largest = 0;
  g_watching = true;
  o.ok = open_image(bytes.data(), bytes.size(), name, url, page, &o.image, &o.error);
  g_watching = false;
  o.largest_allocation = g_largest;
  return o;
}

TEST(Intake, OpensAPngAndFingerprintsItsBytes) {
  Opening o = open(kSmallPng, "plate A1.png", "https://example.org/plate%20A1.png");
  ASSERT_TRUE(o.ok) << o.error;
  const Image& img = o.image.image;
  ASSERT_EQ(img.width, 3);
  ASSERT_EQ(img.height, 2);
  ASSERT_EQ(img.channels, 1);
  ASSERT_EQ(img.type, SampleType::U8);
  EXPECT_EQ(img.data, (std::vector<uint8_t>{0, 40, 80, 120, 160, 200}));
  EXPECT_EQ(o.image.format, "png");
  EXPECT_EQ(o.image.name, "plate A1.png");
  EXPECT_EQ(o.image.stem, "plate A1");
  EXPECT_EQ(o.image.sha256, kSmallPngSha256);
  EXPECT_EQ(o.image.file, kSmallPng);  // what the worker decodes again: the same bytes
  EXPECT_EQ(o.image.source_url, "https://example.org/plate%20A1.png");
}

TEST(Intake, FingerprintCoversTheFileNotJustThePixels) {
  // A text chunk changes the file but no pixel: a different file, so a different fingerprint.
  std::vector<uint8_t> tagged(kSmallPng.begin(), kSmallPng.end() - 12);  // without IEND
  const std::string text = std::string("Comment") + '\0' + "acquired 2026-11-28";
  put_chunk(tagged, "tEXt", std::vector<uint8_t>(text.begin(), text.end()));
  put_chunk(tagged, "IEND", {});
  Opening plain = open(kSmallPng, "a.png"), commented = open(tagged, "a.png");
  ASSERT_TRUE(plain.ok) << plain.error;
  ASSERT_TRUE(commented.ok) << commented.error;
  EXPECT_EQ(plain.image.image.data, commented.image.image.data);
  EXPECT_NE(plain.image.sha256, commented.image.sha256);
  EXPECT_EQ(commented.image.sha256, sha256_hex(tagged.data(), tagged.size()));
  EXPECT_EQ(commented.image.file, tagged);
}

TEST(Intake, ANamelessImageIsNamedAfterItsFormat) {
  Opening o = open(kSmallPng, "");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.image.name, "image.png");
  EXPECT_EQ(o.image.stem, "image");
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

TEST(Intake, OpensJpegBmpAndSixteenBitPng) {
  const int w = 24, h = 16;
  std::vector<uint8_t> rgb(size_t(w) * h * 3);
  for (size_t i = 0; i < rgb.size(); i++) rgb[i] = uint8_t(i * 7 % 251);
  std::vector<uint8_t> jpeg, bmp;
  ASSERT_TRUE(stbi_write_jpg_to_func(append_bytes, &jpeg, w, h, 3, rgb.data(), 90));
  ASSERT_TRUE(stbi_write_bmp_to_func(append_bytes, &bmp, w, h, 3, rgb.data()));
  Opening j = open(jpeg, "he stain.jpg"), b = open(bmp, "old scope.bmp");
  ASSERT_TRUE(j.ok) << j.error;
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(j.image.format, "jpeg");
  EXPECT_EQ(b.image.format, "bmp");
  EXPECT_EQ(j.image.stem, "he stain");
  for (const Opening* o : {&j, &b}) {
    EXPECT_EQ(o->image.image.width, w);
    EXPECT_EQ(o->image.image.height, h);
    EXPECT_EQ(o->image.image.channels, 3);
  }
  EXPECT_EQ(b.image.image.data, rgb) << "BMP is lossless";

  // 16-bit samples stay 16-bit: the page's contrast works on the real values.
  Image deep = make_image(w, h, 1, SampleType::U16);
  for (size_t i = 0; i < deep.sample_count(); i++) samples<uint16_t>(deep)[i] = uint16_t(i * 2741 % 65536);
  std::vector<uint8_t> png;
  std::string error;
  ASSERT_TRUE(write_png(deep, PngWriteOptions(), &png, &error)) << error;
  Opening p = open(png, "deep.png");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.image.image.type, SampleType::U16);
  EXPECT_EQ(p.image.image.data, deep.data);
}

TEST(Intake, OpensAnyPageOfAMultiPageTiff) {
  celldrop_test::TiffSpec spec;
  spec.width = 21;
  spec.height = 17;
  spec.bits = 16;
  spec.pages = 3;
  const std::vector<uint8_t> file = celldrop_test::write_tiff(spec);
  ASSERT_FALSE(file.empty());
  Opening o = open(file, "stack.ome.tif");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.image.format, "tiff");
  EXPECT_EQ(o.image.stem, "stack.ome");
  const Image want = celldrop_test::expected_image(spec, 0);
  EXPECT_EQ(o.image.image.type, SampleType::U16);
  EXPECT_EQ(o.image.image.width, 21);
  EXPECT_EQ(o.image.image.data, want.data);
  EXPECT_EQ(o.image.pages, 3);  // the page steps through the others
  o = open(file, "stack.ome.tif", "", 2);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(std::make_pair(o.image.page, o.image.pages), std::make_pair(2, 3));
  EXPECT_EQ(o.image.image.data, celldrop_test::expected_image(spec, 2).data);
  o = open(file, "stack.ome.tif", "", 3);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("page 3 does not exist"), std::string::npos) << o.error;
  // A hyperstack's channel pages are one image's channels (the core's TIFF reader).
  spec.description = "ImageJ=1.54f\nimages=3\nchannels=3\nhyperstack=true\n";
  o = open(celldrop_test::write_tiff(spec), "composite.tif");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(std::make_pair(o.image.image.channels, o.image.pages), std::make_pair(3, 1));
}

TEST(Intake, ReadsTheLabelTiffThePageItselfWrites) {
  Labels labels = make_labels(40, 30);
  for (int y = 5; y < 20; y++)
    for (int x = 3; x < 30; x++) labels.at(x, y) = uint32_t(1 + x / 10);
  std::vector<uint8_t> tiff;
  std::string error;
  LabelTiffOptions options;
  options.pixel_size_um = 0.325;
  ASSERT_TRUE(write_labels_tiff(labels, options, &tiff, &error)) << error;
  Opening o = open(tiff, "cells_nuclei-star_labels.tiff");
  ASSERT_TRUE(o.ok) << o.error;
  const Image& img = o.image.image;
  ASSERT_EQ(img.type, SampleType::U16);
  ASSERT_EQ(img.sample_count(), labels.data.size());
  for (size_t i = 0; i < labels.data.size(); i++) ASSERT_EQ(samples<uint16_t>(img)[i], labels.data[i]) << i;
  EXPECT_NEAR(img.pixel_size_x_um, 0.325, 1e-6);
}

TEST(Intake, AHugeDeclaredTiffIsRefusedBeforeItIsAllocated) {
  // 124 bytes that declare 400 million samples: over the page's 268 M, under the core's own 1074 M,
  // so only the page's check stands between this file and a 400 MB allocation.
  const std::vector<uint8_t> file = tiff_declaring(20000, 20000);
  Opening o = open(file, "whole slide.tif");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error,
            "Cannot open whole slide.tif: it declares 20000 x 20000 pixels with 1 channel, more than this page can "
            "hold (268 megasamples at most). Crop or downsample it first, or use the command-line tool.");
  EXPECT_LT(o.largest_allocation, size_t(1) << 20) << "bytes requested while refusing it";
  EXPECT_TRUE(o.image.file.empty()) << "a refused file is not kept";
  EXPECT_TRUE(o.image.sha256.empty());
}

TEST(Intake, AHugeDeclaredPngIsRefusedBeforeItIsAllocated) {
  Opening o = open(png_declaring(20000, 12000, 2), "scan.png");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("Cannot open scan.png: it declares 20000 x 12000 pixels with 3 channels, more than this page "
                         "can hold"),
            std::string::npos)
      << o.error;
  EXPECT_LT(o.largest_allocation, size_t(1) << 20);
}

TEST(Intake, TheBudgetCountsSamplesChannelsIncluded) {
  // 9500 x 9500 is 90 M samples in grey (within the budget) and 271 M in RGB (over it).
  Opening grey = open(png_declaring(9500, 9500, 0), "g.png");
  Opening rgb = open(png_declaring(9500, 9500, 2), "c.png");
  EXPECT_FALSE(grey.ok);  // it holds no pixels, so decoding fails: but not for its size
  EXPECT_EQ(grey.error.find("more than this page can hold"), std::string::npos) << grey.error;
  EXPECT_FALSE(rgb.ok);
  EXPECT_NE(rgb.error.find("more than this page can hold"), std::string::npos) << rgb.error;
  // The limit itself: 16384 x 16384 one-channel samples pass the budget, one more row does not.
  Opening at = open(png_declaring(16384, 16384, 0), "at.png");
  Opening over = open(png_declaring(16384, 16385, 0), "over.png");
  EXPECT_EQ(at.error.find("more than this page can hold"), std::string::npos) << at.error;
  EXPECT_NE(over.error.find("more than this page can hold"), std::string::npos) << over.error;
}

TEST(Intake, EmptyFileSaysSo) {
  Opening o = open({}, "cells.tif");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error, "Cannot open cells.tif: the file is empty.");
}

TEST(Intake, AFileThatIsNoImageNamesTheFormatsThatAreRead) {
  const std::string text = "label,area\n1,120\n";
  Opening o = open(std::vector<uint8_t>(text.begin(), text.end()), "objects.csv");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error.rfind("Cannot open objects.csv: ", 0), 0u) << o.error;
  EXPECT_NE(o.error.find("CellDrop reads PNG, JPEG, BMP and TIFF files."), std::string::npos) << o.error;
  Opening nameless = open(std::vector<uint8_t>(text.begin(), text.end()), "");
  EXPECT_EQ(nameless.error.rfind("Cannot open the image: ", 0), 0u) << nameless.error;
}

TEST(Intake, ATruncatedFileNamesItselfAndTheDamage) {
  std::vector<uint8_t> cut(kSmallPng.begin(), kSmallPng.begin() + 50);  // inside the IDAT chunk
  Opening o = open(cut, "cut.png");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error.rfind("Cannot open cut.png: PNG", 0), 0u) << o.error;
  EXPECT_EQ(o.error.back(), '.');
  EXPECT_TRUE(o.image.file.empty());
}

TEST(FileStem, ExportNamesComeFromTheNameAUserKnows) {
  EXPECT_EQ(file_stem("cells.tif"), "cells");
  EXPECT_EQ(file_stem("cells.ome.tif"), "cells.ome");  // only the last extension goes
  EXPECT_EQ(file_stem("plate A1.png"), "plate A1");    // spaces are fine in file names
  EXPECT_EQ(file_stem("README"), "README");
  EXPECT_EQ(file_stem("C:\\data\\run 3\\well.tif"), "well");
  EXPECT_EQ(file_stem("/home/me/well.tif"), "well");
  EXPECT_EQ(file_stem("a:b*c?d\"e<f>g|h.tif"), "a_b_c_d_e_f_g_h");
  EXPECT_EQ(file_stem(std::string("tab\there\x01.png")), "tab_here_");
  EXPECT_EQ(file_stem("\xC3\x9F\xCE\xBC.tif"), "\xC3\x9F\xCE\xBC");  // UTF-8 names are kept as they are
  EXPECT_EQ(file_stem(""), "image");
  EXPECT_EQ(file_stem(".tif"), "image");
  EXPECT_EQ(file_stem("dir/"), "image");
}

}  // namespace
}  // namespace celldrop

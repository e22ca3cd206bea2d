// TIFF reading (src/core/tiff_reader.cpp, tiff_metadata.cpp): files written by libtiff's own writer in
// memory, in every layout CellDrop promises, compared sample for sample with what they were written from;
// plus hand-assembled and damaged files that must fail with a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>

#include "core/decode.h"
#include "core/decode_formats.h"
#include "core/tiff_test_writer.h"

using namespace celldrop;
using celldrop_test::TiffSpec;

namespace {

struct Layout {
  const char* name;
  TiffSpec spec;
};

std::vector<Layout> layouts() {
  std::vector<Layout> v;
  auto add = [&](const char* name, TiffSpec s) { v.push_back({name, s}); };
  TiffSpec s;
  add("u8_gray_strips_none", s);
  s = TiffSpec(); s.bits = 16; s.compression = COMPRESSION_LZW; s.predictor = 2; s.mode = "wb";
  add("u16_gray_lzw_predictor_bigendian", s);
  s = TiffSpec(); s.bits = 32; s.compression = COMPRESSION_ADOBE_DEFLATE;
  add("u32_gray_deflate", s);
  s = TiffSpec(); s.bits = 32; s.sample_format = SAMPLEFORMAT_IEEEFP; s.compression = COMPRESSION_ADOBE_DEFLATE;
  s.predictor = 3;  // little-endian only: libtiff 4.5's *writer* emits zeros for this in big-endian files
  add("f32_gray_deflate_float_predictor", s);
  s = TiffSpec(); s.bits = 32; s.sample_format = SAMPLEFORMAT_IEEEFP; s.mode = "wb"; s.tiled = true;
  add("f32_gray_bigendian_tiled", s);
  s = TiffSpec(); s.bits = 32; s.sample_format = SAMPLEFORMAT_IEEEFP;
  add("f32_gray_none", s);
  s = TiffSpec(); s.channels = 3; s.compression = COMPRESSION_PACKBITS;
  add("u8_rgb_packbits", s);
  s = TiffSpec(); s.channels = 3; s.bits = 16; s.planar = PLANARCONFIG_SEPARATE; s.compression = COMPRESSION_LZW;
  add("u16_rgb_planar_lzw", s);
  s = TiffSpec(); s.channels = 3; s.bits = 16; s.tiled = true; s.width = 40; s.height = 37;
  s.compression = COMPRESSION_ADOBE_DEFLATE; s.predictor = 2;
  add("u16_rgb_tiled_partial_tiles_deflate_predictor", s);
  s = TiffSpec(); s.channels = 2; s.tiled = true; s.planar = PLANARCONFIG_SEPARATE; s.width = 33; s.height = 17;
  add("u8_two_channel_tiled_planar", s);
  s = TiffSpec(); s.bits = 16; s.mode = "w8"; s.compression = COMPRESSION_LZW;
  add("u16_bigtiff_lzw", s);
  s = TiffSpec(); s.bits = 16; s.mode = "w8b"; s.tiled = true; s.width = 20; s.height = 20;
  add("u16_bigtiff_bigendian_tiled", s);
  s = TiffSpec(); s.channels = 4; s.rows_per_strip = 1000;
  add("u8_rgba_single_strip", s);
  s = TiffSpec(); s.bits = 16; s.sample_format = SAMPLEFORMAT_INT;
  add("i16_gray_offset", s);
  s = TiffSpec(); s.bits = 8; s.sample_format = SAMPLEFORMAT_INT; s.channels = 3; s.planar = PLANARCONFIG_SEPARATE;
  add("i8_planar_offset", s);
  return v;
}

class TiffLayouts : public ::testing::TestWithParam<Layout> {};

TEST_P(TiffLayouts, DecodesTheSamplesItWasWrittenFrom) {
  const TiffSpec& s = GetParam().spec;
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ASSERT_FALSE(file.empty()) << "libtiff could not write the fixture";
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(info.format, "tiff");
  EXPECT_EQ(info.width, s.width);
  EXPECT_EQ(info.height, s.height);
  EXPECT_EQ(info.channels, s.channels);
  EXPECT_EQ(info.pages, 1);
  Image img;
  ASSERT_TRUE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error)) << error;
  Image want = celldrop_test::expected_image(s, 0);
  EXPECT_EQ(img.type, want.type);
  EXPECT_EQ(info.type, want.type);
  ASSERT_EQ(img.data.size(), want.data.size());
  EXPECT_TRUE(img.data == want.data);
}

INSTANTIATE_TEST_SUITE_P(Layouts, TiffLayouts, ::testing::ValuesIn(layouts()),
                         [](const ::testing::TestParamInfo<Layout>& p) { return std::string(p.param.name); });

TEST(TiffReader, MultiPageChoosesThePageAndRejectsMissingOnes) {
  TiffSpec s;
  s.pages = 3;
  s.bits = 16;
  s.compression = COMPRESSION_LZW;
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(info.pages, 3);
  for (int p = 0; p < 3; ++p) {
    DecodeOptions o;
    o.page = p;
    Image img;
    ASSERT_TRUE(decode_image(file.data(), file.size(), o, &img, &error)) << error;
    EXPECT_TRUE(img.data == celldrop_test::expected_image(s, p).data) << "page " << p;
  }
  DecodeOptions o;
  o.page = 3;
  Image img;
  EXPECT_FALSE(decode_image(file.data(), file.size(), o, &img, &error));
  EXPECT_NE(error.find("page 3 does not exist"), std::string::npos) << error;
  EXPECT_NE(error.find("3 pages"), std::string::npos) << error;
  EXPECT_TRUE(img.empty());
}

// The image a reader returns for a hyperstack's page `p`: the one-sample file pages p*C ... p*C+C-1
// as channels 0 ... C-1.
static Image expected_channel_stack(const TiffSpec& s, int channels, int p) {
  Image first = celldrop_test::expected_image(s, p * channels);
  Image stack = make_image(s.width, s.height, channels, first.type);
  const size_t bytes = sample_type_size(first.type), n = size_t(s.width) * size_t(s.height);
  for (int c = 0; c < channels; ++c) {
    Image page = celldrop_test::expected_image(s, p * channels + c);
    for (size_t i = 0; i < n; ++i) memcpy(&stack.data[(i * channels + c) * bytes], &page.data[i * bytes], bytes);
  }
  return stack;
}

TEST(TiffReader, HyperstackChannelPagesAreOneImagesChannels) {
  // ImageJ and Fiji save a multichannel image one channel per page, channels first.
  TiffSpec s;
  s.pages = 6;
  s.bits = 16;
  s.compression = COMPRESSION_ADOBE_DEFLATE;
  s.description = "ImageJ=1.54f\nimages=6\nchannels=3\nslices=2\nhyperstack=true\nmode=composite\n";
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.pages, 2);
  for (int p = 0; p < 2; ++p) {
    DecodeOptions o;
    o.page = p;
    Image img;
    ASSERT_TRUE(decode_image(file.data(), file.size(), o, &img, &error)) << error;
    EXPECT_EQ(img.channels, 3);
    EXPECT_TRUE(img.data == expected_channel_stack(s, 3, p).data) << "page " << p;
  }
  DecodeOptions o;
  o.page = 2;
  Image img;
  EXPECT_FALSE(decode_image(file.data(), file.size(), o, &img, &error));
  EXPECT_NE(error.find("2 pages"), std::string::npos) << error;
  // The sample budget counts every channel.
  o.page = 0;
  o.max_samples = uint64_t(s.width) * s.height * 2;
  EXPECT_FALSE(decode_image(file.data(), file.size(), o, &img, &error));
  EXPECT_NE(error.find("x 3 samples exceed"), std::string::npos) << error;

  // OME-TIFF says it with SizeC: channels vary fastest, or are the only dimension beyond X and Y.
  s.pages = 2;
  s.description = "<?xml version=\"1.0\"?><OME><Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" "
                  "DimensionOrder=\"XYZTC\" SizeC=\"2\" SizeT=\"1\" SizeZ=\"1\" SizeX=\"13\" "
                  "SizeY=\"11\" Type=\"uint16\"></Pixels></Image></OME>";
  file = celldrop_test::write_tiff(s);
  ASSERT_TRUE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error)) << error;
  EXPECT_TRUE(img.data == expected_channel_stack(s, 2, 0).data);
}

TEST(TiffReader, AHyperstackPageOfAnotherSizeIsRefusedNotCopied) {
  // Two images of two channels whose last page is wider: the first image's pages agree, so the file
  // is a hyperstack, and the second image must be refused before its wider page is copied.
  TiffSpec s;
  s.pages = 4;
  s.description = "ImageJ=1.54f\nimages=4\nchannels=2\nslices=2\n";
  s.last_page_width = s.width * 3;
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ASSERT_FALSE(file.empty());
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(std::make_pair(info.channels, info.pages), std::make_pair(2, 2));
  DecodeOptions o;
  Image img;
  ASSERT_TRUE(decode_image(file.data(), file.size(), o, &img, &error)) << error;
  o.page = 1;
  EXPECT_FALSE(decode_image(file.data(), file.size(), o, &img, &error));
  EXPECT_NE(error.find("page 3 is not the size"), std::string::npos) << error;
}

TEST(TiffReader, PagesThatDoNotMakeChannelsStayPages) {
  ImageInfo info;
  std::string error;
  // A z-stack of two-channel planes stored channel last: the first pages are not one image's channels.
  TiffSpec s;
  s.pages = 4;
  s.description = "<OME><Image><Pixels DimensionOrder=\"XYZCT\" SizeC=\"2\" SizeZ=\"2\" SizeT=\"1\"/></Image></OME>";
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(std::make_pair(info.channels, info.pages), std::make_pair(1, 4));
  // The description promises more channels than there are pages, or pages that are RGB already.
  s.pages = 2;
  s.description = "ImageJ=1.54f\nchannels=3\n";
  file = celldrop_test::write_tiff(s);
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(std::make_pair(info.channels, info.pages), std::make_pair(1, 2));
  s.pages = 3;
  s.channels = 3;
  file = celldrop_test::write_tiff(s);
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(std::make_pair(info.channels, info.pages), std::make_pair(3, 3));
  Image img;
  ASSERT_TRUE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error)) << error;
  EXPECT_TRUE(img.data == celldrop_test::expected_image(s, 0).data);
}

TEST(TiffReader, ChannelCountFromDescriptions) {
  EXPECT_EQ(tiff_channels_in_pages("ImageJ=1.54f\r\nimages=4\r\nchannels=4\r\n"), 4);
  EXPECT_EQ(tiff_channels_in_pages("ImageJ=1.54f\nimages=4\nslices=4\n"), 1);
  EXPECT_EQ(tiff_channels_in_pages("ImageJ=1.54f\nchannels=0\n"), 1);
  EXPECT_EQ(tiff_channels_in_pages("ImageJ=1.54f\nchannels=2.5\n"), 1);
  EXPECT_EQ(tiff_channels_in_pages("ImageJ=1.54f\nchannels=99999999999\n"), 1);
  EXPECT_EQ(tiff_channels_in_pages("ImageJ=1.54f\nchannels="), 1);
  EXPECT_EQ(tiff_channels_in_pages("channels=3\n"), 1);  // not ImageJ's
  EXPECT_EQ(tiff_channels_in_pages("<OME><Pixels SizeC=\"3\" DimensionOrder=\"XYCZT\" SizeZ=\"5\">"), 3);
  EXPECT_EQ(tiff_channels_in_pages("<OME><Pixels SizeC=\"3\" DimensionOrder=\"XYZCT\" SizeZ=\"5\">"), 1);
  EXPECT_EQ(tiff_channels_in_pages("<OME><Pixels SizeC=\"3\" DimensionOrder=\"XYZCT\">"), 3);
  EXPECT_EQ(tiff_channels_in_pages("<OME><Pixels SizeC=\"3"), 1);
  EXPECT_EQ(tiff_channels_in_pages("<OME><PixelsX SizeC=\"3\">"), 1);
}

TEST(TiffReader, PixelSizeFromImageJDescription) {
  TiffSpec s;
  s.description = "ImageJ=1.53t\nimages=1\nunit=micron\nloop=false\n";
  s.x_resolution = 2.0f;  // pixels per micron
  s.y_resolution = 4.0f;
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_DOUBLE_EQ(info.pixel_size_x_um, 0.5);
  EXPECT_DOUBLE_EQ(info.pixel_size_y_um, 0.25);
  Image img;
  ASSERT_TRUE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error)) << error;
  EXPECT_DOUBLE_EQ(img.pixel_size_x_um, 0.5);

  s.description = "ImageJ=1.53t\nunit=nm\n";  // 0.01 pixels per nm -> 100 nm -> 0.1 um
  s.x_resolution = s.y_resolution = 0.01f;
  file = celldrop_test::write_tiff(s);
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_NEAR(info.pixel_size_x_um, 0.1, 1e-6);

  s.description = "ImageJ=1.53t\nimages=1\n";  // no unit: uncalibrated, whatever the tags say
  s.resolution_unit = RESUNIT_CENTIMETER;
  file = celldrop_test::write_tiff(s);
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(info.pixel_size_x_um, 0.0);
}

TEST(TiffReader, PixelSizeFromOmeXml) {
  TiffSpec s;
  s.description =
      "<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"
      "<Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" Type=\"uint8\" "
      "PhysicalSizeX=\"0.65\" PhysicalSizeY=\"650\" PhysicalSizeYUnit=\"nm\" SizeX=\"13\" SizeY=\"11\">"
      "</Pixels></Image></OME>";
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_NEAR(info.pixel_size_x_um, 0.65, 1e-12);
  EXPECT_NEAR(info.pixel_size_y_um, 0.65, 1e-12);
}

TEST(TiffReader, ResolutionTagsOnlyInCentimetres) {
  TiffSpec s;
  s.x_resolution = s.y_resolution = 20000.0f;  // pixels per cm -> 0.5 um
  s.resolution_unit = RESUNIT_CENTIMETER;
  std::vector<uint8_t> file = celldrop_test::write_tiff(s);
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_NEAR(info.pixel_size_x_um, 0.5, 1e-9);
  s.x_resolution = s.y_resolution = 72.0f;  // the usual placeholder dpi: not a microscope's pixel
  s.resolution_unit = RESUNIT_INCH;
  file = celldrop_test::write_tiff(s);
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;
  EXPECT_EQ(info.pixel_size_x_um, 0.0);
}

TEST(TiffMetadata, ParsersRejectWhatTheyCannotUse) {
  double a = 0, b = 0;
  EXPECT_TRUE(imagej_unit_to_um("ImageJ=1.x\nunit=\\u00B5m\n", &a));
  EXPECT_EQ(a, 1.0);
  EXPECT_TRUE(imagej_unit_to_um("ImageJ=1.x\r\nunit=mm\r\n", &a));
  EXPECT_EQ(a, 1000.0);
  EXPECT_FALSE(imagej_unit_to_um("ImageJ=1.x\nunit=pixel\n", &a));
  EXPECT_FALSE(imagej_unit_to_um("ImageJ=1.x\nunit=", &a));
  EXPECT_FALSE(ome_physical_size_um("<OME><Pixels PhysicalSizeX=\"abc\"></Pixels></OME>", &a, &b));
  EXPECT_FALSE(ome_physical_size_um("<OME><Pixels PhysicalSizeX=\"-1\"></Pixels></OME>", &a, &b));
  EXPECT_FALSE(ome_physical_size_um("<OME><Pixels PhysicalSizeX=\"1\" PhysicalSizeXUnit=\"furlong\">", &a, &b));
  EXPECT_FALSE(ome_physical_size_um("<OME><PixelsX PhysicalSizeX=\"1\">", &a, &b));
  EXPECT_FALSE(ome_physical_size_um("<OME><Pixels PhysicalSizeX=\"1", &a, &b));
  EXPECT_TRUE(ome_physical_size_um("<OME><Pixels  PhysicalSizeX = '2' PhysicalSizeXUnit='mm'/>", &a, &b));
  EXPECT_EQ(a, 2000.0);
  EXPECT_EQ(b, 2000.0);
}

TEST(TiffReader, TruncatedFilesFailAtEveryCut) {
  for (int compression : {COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE, COMPRESSION_PACKBITS}) {
    TiffSpec s;
    s.width = 64;
    s.height = 64;
    s.bits = 16;
    s.rows_per_strip = 16;
    s.compression = compression;
    std::vector<uint8_t> file = celldrop_test::write_tiff(s);
    ASSERT_FALSE(file.empty());
    // libtiff writes pixel data before the directory, so these cuts lose the directory or the header;
    // CompressedStripCutShort below cuts the pixel data of a file whose directory comes first.
    for (size_t cut : {size_t(0), size_t(3), size_t(8), file.size() / 3, file.size() / 2, file.size() - 1}) {
      Image img;
      std::string error;
      EXPECT_FALSE(decode_image(file.data(), cut, DecodeOptions(), &img, &error))
          << "compression " << compression << " cut at " << cut;
      EXPECT_FALSE(error.empty());
      EXPECT_TRUE(img.empty());
    }
  }
}

// Hand-assembled classic little-endian TIFF: a header, then one IFD whose entries the test chooses, then
// `tail` bytes. Offsets in entries are absolute.
struct Entry {
  uint16_t tag, type;
  uint32_t count, value;
};
std::vector<uint8_t> hand_tiff(const std::vector<Entry>& entries, uint32_t next_ifd,
                               const std::vector<uint8_t>& tail) {
  std::vector<uint8_t> b = {'I', 'I', 42, 0, 8, 0, 0, 0};
  auto put16 = [&](uint32_t v) { b.push_back(uint8_t(v)); b.push_back(uint8_t(v >> 8)); };
  auto put32 = [&](uint32_t v) { put16(v & 0xFFFF); put16(v >> 16); };
  put16(uint32_t(entries.size()));
  for (const Entry& e : entries) {
    put16(e.tag);
    put16(e.type);
    put32(e.count);
    if (e.type == 3 && e.count == 1) { put16(e.value); put16(0); } else { put32(e.value); }
  }
  put32(next_ifd);
  b.insert(b.end(), tail.begin(), tail.end());
  return b;
}

// Where hand_tiff puts the first tail byte for n entries.
uint32_t tail_offset(size_t n) { return uint32_t(8 + 2 + 12 * n + 4); }

std::vector<Entry> gray8_entries(uint32_t width, uint32_t height, uint16_t compression, uint32_t strip_offset,
                                 uint32_t strip_bytes) {
  return {{256, 4, 1, width}, {257, 4, 1, height}, {258, 3, 1, 8}, {259, 3, 1, compression},
          {262, 3, 1, 1},     {273, 4, 1, strip_offset}, {277, 3, 1, 1}, {278, 4, 1, height},
          {279, 4, 1, strip_bytes}};
}

TEST(TiffReader, HandAssembledFileDecodes) {
  std::vector<uint8_t> pixels = {1, 2, 3, 4, 5, 6};
  auto file = hand_tiff(gray8_entries(3, 2, 1, tail_offset(9), 6), 0, pixels);
  Image img;
  std::string error;
  ASSERT_TRUE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error)) << error;
  EXPECT_EQ(img.width, 3);
  EXPECT_EQ(img.data, pixels);
}

TEST(TiffReader, StripDataShorterThanDeclaredIsAnError) {
  std::vector<uint8_t> pixels = {1, 2, 3, 4};  // 6 needed
  auto file = hand_tiff(gray8_entries(3, 2, 1, tail_offset(9), 6), 0, pixels);
  Image img;
  std::string error;
  EXPECT_FALSE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error));
  EXPECT_NE(error.find("strip 1 of 1 is truncated or corrupt"), std::string::npos) << error;
}

// The compressed bytes of strip 0 of a libtiff-written file.
std::vector<uint8_t> raw_strip(std::vector<uint8_t> file) {
  celldrop_test::MemoryStream m;
  m.bytes = std::move(file);
  TIFF* tif = TIFFClientOpen("fixture", "r", &m, celldrop_test::stream_read, celldrop_test::stream_write,
                             celldrop_test::stream_seek, celldrop_test::stream_close,
                             celldrop_test::stream_size, celldrop_test::stream_map, celldrop_test::stream_unmap);
  if (!tif) return {};
  std::vector<uint8_t> raw(size_t(TIFFGetStrileByteCount(tif, 0)));
  tmsize_t got = TIFFReadRawStrip(tif, 0, raw.data(), tmsize_t(raw.size()));
  TIFFClose(tif);
  if (got != tmsize_t(raw.size())) return {};
  return raw;
}

TEST(TiffReader, CompressedStripCutShort) {
  for (int compression : {COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE, COMPRESSION_PACKBITS}) {
    TiffSpec s;
    s.width = 64;
    s.height = 16;
    s.rows_per_strip = 16;
    s.compression = compression;
    std::vector<uint8_t> raw = raw_strip(celldrop_test::write_tiff(s));
    ASSERT_GT(raw.size(), 8u);
    // Whole strip: decodes. Declared whole but the file ends early, or declared and stored cut: errors.
    auto whole = hand_tiff(gray8_entries(64, 16, uint16_t(compression), tail_offset(9), uint32_t(raw.size())), 0, raw);
    Image img;
    std::string error;
    ASSERT_TRUE(decode_image(whole.data(), whole.size(), DecodeOptions(), &img, &error)) << error;
    EXPECT_TRUE(img.data == celldrop_test::expected_image(s, 0).data);
    std::vector<uint8_t> half(raw.begin(), raw.begin() + std::ptrdiff_t(raw.size() / 2));
    auto file_ends = hand_tiff(gray8_entries(64, 16, uint16_t(compression), tail_offset(9), uint32_t(raw.size())), 0, half);
    EXPECT_FALSE(decode_image(file_ends.data(), file_ends.size(), DecodeOptions(), &img, &error));
    EXPECT_NE(error.find("strip 1 of 1 is truncated or corrupt"), std::string::npos) << error;
    auto stored_cut = hand_tiff(gray8_entries(64, 16, uint16_t(compression), tail_offset(9), uint32_t(half.size())), 0, half);
    EXPECT_FALSE(decode_image(stored_cut.data(), stored_cut.size(), DecodeOptions(), &img, &error))
        << "compression " << compression;
    EXPECT_NE(error.find("strip 1 of 1 is truncated or corrupt"), std::string::npos) << error;
  }
}

TEST(TiffReader, UnsupportedCompressionNamesItself) {
  auto file = hand_tiff(gray8_entries(3, 2, 7, tail_offset(9), 6), 0, std::vector<uint8_t>(6, 0));
  ImageInfo info;
  std::string error;
  EXPECT_FALSE(probe_image(file.data(), file.size(), &info, &error));
  EXPECT_NE(error.find("JPEG compression is not supported"), std::string::npos) << error;
}

TEST(TiffReader, DeclaredSizeBeyondTheBudgetFailsBeforeAllocating) {
  // 100 bytes that declare 10^10 samples.
  auto file = hand_tiff(gray8_entries(100000, 100000, 1, tail_offset(9), 6), 0, std::vector<uint8_t>(6, 0));
  ImageInfo info;
  std::string error;
  ASSERT_TRUE(probe_image(file.data(), file.size(), &info, &error)) << error;  // probing is harmless
  EXPECT_EQ(info.width, 100000);
  Image img;
  EXPECT_FALSE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error));
  EXPECT_NE(error.find("100000 x 100000 x 1 samples exceed the limit"), std::string::npos) << error;
  DecodeOptions small;
  small.max_samples = 100;  // and a caller's own budget is honoured too
  TiffSpec t;
  std::vector<uint8_t> normal = celldrop_test::write_tiff(t);
  EXPECT_FALSE(decode_image(normal.data(), normal.size(), small, &img, &error));
  EXPECT_NE(error.find("13 x 11 x 1 samples exceed the limit of 100"), std::string::npos) << error;
}

TEST(TiffReader, HugeImageWithoutStripByteCountsFailsCheaply) {
  // 2^31 one-row strips and no StripByteCounts: were libtiff to estimate the counts it would need a
  // 16 GB array. It refuses the directory (with the per-handle allocation cap as a backstop), quickly,
  // even under a sample budget that would allow the image.
  auto file = hand_tiff({{256, 4, 1, 1}, {257, 4, 1, 0x7FFFFFFF}, {258, 3, 1, 8}, {273, 4, 1, tail_offset(5)},
                         {278, 4, 1, 1}},
                        0, std::vector<uint8_t>(16, 0));
  Image img;
  std::string error;
  DecodeOptions generous;
  generous.max_samples = uint64_t(1) << 40;
  EXPECT_FALSE(decode_image(file.data(), file.size(), generous, &img, &error));
  EXPECT_NE(error.find("StripByteCounts"), std::string::npos) << error;
}

TEST(TiffReader, UnsupportedSampleWidthsNameThemselves) {
  auto entries = gray8_entries(1, 1, 1, tail_offset(10), 8);
  entries[2].value = 64;                  // BitsPerSample
  entries.push_back({339, 3, 1, 3});      // SampleFormat = IEEE float
  auto float64 = hand_tiff(entries, 0, std::vector<uint8_t>(8, 0));
  ImageInfo info;
  std::string error;
  EXPECT_FALSE(probe_image(float64.data(), float64.size(), &info, &error));
  EXPECT_NE(error.find("64-bit floating-point samples are not supported"), std::string::npos) << error;
  auto bilevel = hand_tiff({{256, 4, 1, 8}, {257, 4, 1, 1}, {258, 3, 1, 1}, {273, 4, 1, tail_offset(5)},
                            {279, 4, 1, 1}},
                           0, {0xFF});
  EXPECT_FALSE(probe_image(bilevel.data(), bilevel.size(), &info, &error));
  EXPECT_NE(error.find("1-bit integer samples are not supported"), std::string::npos) << error;
}

TEST(TiffReader, LoopingPageChainIsRefused) {
  auto file = hand_tiff(gray8_entries(3, 2, 1, tail_offset(9), 6), 8, std::vector<uint8_t>(6, 0));
  ImageInfo info;
  std::string error;
  EXPECT_FALSE(probe_image(file.data(), file.size(), &info, &error));
  EXPECT_NE(error.find("loops"), std::string::npos) << error;
}

TEST(TiffReader, GarbageAfterTheMagicIsAnErrorAndPrintsNothing) {
  std::vector<uint8_t> file = {'I', 'I', 42, 0, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3};
  ImageInfo info;
  Image img;
  std::string error;
  testing::internal::CaptureStderr();
  EXPECT_FALSE(probe_image(file.data(), file.size(), &info, &error));
  EXPECT_FALSE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error));
  // A directory libtiff rejects (entry count beyond the file) goes through libtiff's error path.
  auto broken = hand_tiff({{256, 4, 1, 3}, {257, 4, 0xFFFFFFF, 400}}, 0, {});
  EXPECT_FALSE(decode_image(broken.data(), broken.size(), DecodeOptions(), &img, &error));
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(error.empty());
}

}  // namespace

// Test-only helper: writes TIFFs into memory with libtiff's own writer, so the reader is tested against
// files the reference implementation produced (and against the expected samples we generated them from).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/image.h"
#include "tiffio.h"

namespace celldrop_test {

struct TiffSpec {
  int width = 13, height = 11, channels = 1, pages = 1;
  int bits = 8;
  int sample_format = SAMPLEFORMAT_UINT;
  int planar = PLANARCONFIG_CONTIG;
  int compression = COMPRESSION_NONE;
  int predictor = 0;  // 0 = tag absent
  bool tiled = false;
  int tile = 16;
  int rows_per_strip = 4;
  std::string mode = "w";  // "w", "w8" (BigTIFF), "wb" (big-endian), "w8b"
  std::string description;
  float x_resolution = 0, y_resolution = 0;  // 0 = tags absent
  int resolution_unit = RESUNIT_NONE;
  bool write_pixels = true;  // false: a directory that declares pixels it never stores
  int last_page_width = 0;   // > 0: the last page is this wide instead (pages that disagree)
};

// Deterministic sample (x, y, c) of page p, as raw bits of the spec's width. Spreads over the high
// bytes too, so byte-order mistakes show.
inline uint32_t pattern_bits(const TiffSpec& s, int x, int y, int c, int p) {
  uint32_t v = uint32_t(x) * 2654435761u ^ uint32_t(y) * 40503u ^ uint32_t(c) * 97u ^ uint32_t(p) * 7919u;
  v ^= v >> 13;
  if (s.sample_format == SAMPLEFORMAT_IEEEFP) {
    float f = float(int32_t(v % 20001u) - 10000) * 0.125f;
    memcpy(&v, &f, 4);
    return v;
  }
  if (s.bits == 8) return v & 0xFFu;
  if (s.bits == 16) return v & 0xFFFFu;
  return v;
}

// The image a correct reader returns for page p (signed samples shifted by 2^(bits-1)).
inline celldrop::Image expected_image(const TiffSpec& s, int p) {
  using namespace celldrop;
  SampleType t = s.sample_format == SAMPLEFORMAT_IEEEFP ? SampleType::F32
                 : s.bits == 8                           ? SampleType::U8
                 : s.bits == 16                          ? SampleType::U16
                                                         : SampleType::U32;
  Image img = make_image(s.width, s.height, s.channels, t);
  const size_t bytes = sample_type_size(t);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x)
      for (int c = 0; c < s.channels; ++c) {
        uint32_t v = pattern_bits(s, x, y, c, p);
        if (s.sample_format == SAMPLEFORMAT_INT) v ^= 1u << (s.bits - 1);
        memcpy(&img.data[((size_t(y) * s.width + x) * s.channels + c) * bytes], &v, bytes);
      }
  return img;
}

struct MemoryStream {
  std::vector<uint8_t> bytes;
  uint64_t pos = 0;
};

inline tmsize_t stream_read(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<MemoryStream*>(h);
  if (m->pos >= m->bytes.size()) return 0;
  size_t take = std::min<size_t>(size_t(n), m->bytes.size() - size_t(m->pos));
  memcpy(buf, m->bytes.data() + m->pos, take);
  m->pos += take;
  return tmsize_t(take);
}
inline tmsize_t stream_write(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<MemoryStream*>(h);
  if (m->pos + uint64_t(n) > m->bytes.size()) m->bytes.resize(size_t(m->pos) + size_t(n));
  memcpy(m->bytes.data() + m->pos, buf, size_t(n));
  m->pos += uint64_t(n);
  return n;
}
inline toff_t stream_seek(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<MemoryStream*>(h);
  int64_t base = whence == SEEK_CUR ? int64_t(m->pos) : whence == SEEK_END ? int64_t(m->bytes.size()) : 0;
  m->pos = uint64_t(base + int64_t(off));
  return m->pos;
}
inline int stream_close(thandle_t) { return 0; }
inline toff_t stream_size(thandle_t h) { return static_cast<MemoryStream*>(h)->bytes.size(); }
inline int stream_map(thandle_t, void**, toff_t*) { return 0; }
inline void stream_unmap(thandle_t, void*, toff_t) {}

inline void put_sample(std::vector<uint8_t>& buf, size_t index, int bits, uint32_t v) {
  memcpy(&buf[index * size_t(bits / 8)], &v, size_t(bits / 8));  // little-endian host: low bytes first
}

// Writes the spec; returns the file bytes (empty on a libtiff failure, which fails the calling test).
inline std::vector<uint8_t> write_tiff(const TiffSpec& s) {
  MemoryStream m;
  TIFF* tif = TIFFClientOpen("test.tif", s.mode.c_str(), &m, stream_read, stream_write, stream_seek,
                             stream_close, stream_size, stream_map, stream_unmap);
  if (!tif) return {};
  const int sample_bytes = s.bits / 8;
  for (int p = 0; p < s.pages; ++p) {
    const int width = p == s.pages - 1 && s.last_page_width > 0 ? s.last_page_width : s.width;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, uint32_t(width));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, uint32_t(s.height));
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, uint16_t(s.channels));
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, uint16_t(s.bits));
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, uint16_t(s.sample_format));
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, uint16_t(s.planar));
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
                 uint16_t(s.channels >= 3 && s.bits <= 16 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
    if (s.channels >= 3 && s.bits <= 16 && s.channels > 3) {
      std::vector<uint16_t> extra(size_t(s.channels - 3), EXTRASAMPLE_UNSPECIFIED);
      TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, uint16_t(extra.size()), extra.data());
    } else if (s.channels == 2) {
      uint16_t extra = EXTRASAMPLE_UNSPECIFIED;
      TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, uint16_t(1), &extra);
    }
    TIFFSetField(tif, TIFFTAG_COMPRESSION, uint16_t(s.compression));
    if (s.predictor) TIFFSetField(tif, TIFFTAG_PREDICTOR, uint16_t(s.predictor));
    if (!s.description.empty()) TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, s.description.c_str());
    if (s.x_resolution > 0) {
      TIFFSetField(tif, TIFFTAG_XRESOLUTION, s.x_resolution);
      TIFFSetField(tif, TIFFTAG_YRESOLUTION, s.y_resolution);
      TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, uint16_t(s.resolution_unit));
    }
    if (s.pages > 1) {
      TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      TIFFSetField(tif, TIFFTAG_PAGENUMBER, uint16_t(p), uint16_t(s.pages));
    }
    const bool planar = s.planar == PLANARCONFIG_SEPARATE;
    const int per_pixel = planar ? 1 : s.channels;
    const int planes = planar ? s.channels : 1;
    if (s.tiled) {
      TIFFSetField(tif, TIFFTAG_TILEWIDTH, uint32_t(s.tile));
      TIFFSetField(tif, TIFFTAG_TILELENGTH, uint32_t(s.tile));
      std::vector<uint8_t> tile(size_t(s.tile) * s.tile * per_pixel * sample_bytes);
      for (int plane = 0; plane < planes && s.write_pixels; ++plane)
        for (int ty = 0; ty < s.height; ty += s.tile)
          for (int tx = 0; tx < width; tx += s.tile) {
            std::fill(tile.begin(), tile.end(), 0);
            for (int y = ty; y < std::min(ty + s.tile, s.height); ++y)
              for (int x = tx; x < std::min(tx + s.tile, width); ++x)
                for (int k = 0; k < per_pixel; ++k) {
                  int c = planar ? plane : k;
                  size_t i = (size_t(y - ty) * s.tile + (x - tx)) * per_pixel + k;
                  put_sample(tile, i, s.bits, pattern_bits(s, x, y, c, p));
                }
            if (TIFFWriteTile(tif, tile.data(), uint32_t(tx), uint32_t(ty), 0, uint16_t(plane)) < 0) {
              TIFFClose(tif);
              return {};
            }
          }
    } else {
      TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, uint32_t(s.rows_per_strip));
      std::vector<uint8_t> row(size_t(width) * per_pixel * sample_bytes);
      for (int plane = 0; plane < planes && s.write_pixels; ++plane)
        for (int y = 0; y < s.height; ++y) {
          for (int x = 0; x < width; ++x)
            for (int k = 0; k < per_pixel; ++k)
              put_sample(row, size_t(x) * per_pixel + k, s.bits, pattern_bits(s, x, y, planar ? plane : k, p));
          if (TIFFWriteScanline(tif, row.data(), uint32_t(y), uint16_t(plane)) < 0) {
            TIFFClose(tif);
            return {};
          }
        }
    }
    if (!TIFFWriteDirectory(tif)) {
      TIFFClose(tif);
      return {};
    }
  }
  TIFFClose(tif);
  return m.bytes;
}

}  // namespace celldrop_test

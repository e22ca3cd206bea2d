// TIFF and BigTIFF through libtiff 4.5, read from memory.
//
// libtiff does the format work (directories, both byte orders, codecs, predictors); this file adds what
// a browser-facing reader needs on top: errors collected per handle instead of printed to stderr, a
// sample budget checked before any pixel buffer exists, a bounded page count, truncation treated as an
// error, planar data interleaved into our one chunky layout, and pixel size from ImageJ/OME/tags.
//
// Signed integer samples are converted to unsigned of the same width by adding 2^(bits-1) (int16 -32768
// becomes 0, 0 becomes 32768): order and spacing are kept, which is all percentile normalisation needs.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_set>
#include <vector>

#include "core/decode_formats.h"
#include "tiffio.h"

namespace celldrop {
namespace {

// A file with more pages than this is refused rather than walked: it bounds the work a hostile chain of
// tiny directories can cause, and is far beyond the time-lapses CellDrop is meant for.
constexpr int kMaxPages = 65536;

struct TiffSession {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  uint64_t pos = 0;
  std::string first_error;  // libtiff's first error message since the last clear
};

tmsize_t session_read(thandle_t handle, void* buffer, tmsize_t n) {
  TiffSession* s = static_cast<TiffSession*>(handle);
  if (n <= 0 || s->pos >= s->size) return 0;
  uint64_t take = std::min<uint64_t>(s->size - s->pos, uint64_t(n));
  memcpy(buffer, s->data + s->pos, size_t(take));
  s->pos += take;
  return tmsize_t(take);
}

tmsize_t session_write(thandle_t, void*, tmsize_t) { return 0; }  // opened read-only

toff_t session_seek(thandle_t handle, toff_t offset, int whence) {
  TiffSession* s = static_cast<TiffSession*>(handle);
  uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->size : 0;
  // libtiff passes negative relative offsets as wrapped unsigned values.
  int64_t target = int64_t(base) + int64_t(offset);
  if (whence == SEEK_SET) target = int64_t(offset);
  if (target < 0) return toff_t(-1);
  s->pos = uint64_t(target);
  return toff_t(target);
}

int session_close(thandle_t) { return 0; }
toff_t session_size(thandle_t handle) { return static_cast<TiffSession*>(handle)->size; }
// No mapping: libtiff then reads through session_read into buffers it owns, so it can never write into
// the caller's bytes, and each read is bounded by what the file really holds.
int session_map(thandle_t, void**, toff_t*) { return 0; }
void session_unmap(thandle_t, void*, toff_t) {}

int on_libtiff_error(TIFF*, void* user, const char*, const char* fmt, va_list ap) {
  TiffSession* s = static_cast<TiffSession*>(user);
  if (s->first_error.empty()) {
    char text[400];
    vsnprintf(text, sizeof text, fmt, ap);
    s->first_error = text;
  }
  return 1;  // handled: libtiff must not print to stderr
}

int on_libtiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// Closes the handle however the decode ends.
struct TiffHandle {
  TIFF* tif = nullptr;
  ~TiffHandle() {
    if (tif) TIFFClose(tif);
  }
};

std::string with_detail(const std::string& what, const TiffSession& s) {
  return s.first_error.empty() ? "TIFF: " + what : "TIFF: " + what + " (" + s.first_error + ")";
}

bool open_tiff(TiffSession* s, uint64_t max_single_alloc, TiffHandle* h, std::string* error) {
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  if (!options) {
    *error = "TIFF: out of memory";
    return false;
  }
  const uint64_t cap = std::min<uint64_t>(max_single_alloc, uint64_t(TIFF_TMSIZE_T_MAX));
  TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(cap));
  TIFFOpenOptionsSetErrorHandlerExtR(options, on_libtiff_error, s);
  TIFFOpenOptionsSetWarningHandlerExtR(options, on_libtiff_warning, s);
  // "m": never memory-map (see session_map).
  h->tif = TIFFClientOpenExt("image", "rm", s, session_read, session_write, session_seek, session_close,
                             session_size, session_map, session_unmap, options);
  TIFFOpenOptionsFree(options);
  if (!h->tif) {
    *error = with_detail("cannot read the header or first page; the file is damaged or truncated", *s);
    return false;
  }
  return true;
}

uint64_t read_uint(const uint8_t* p, int bytes, bool big_endian) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(p[big_endian ? bytes - 1 - i : i]) << (8 * i);
  return v;
}

// Counts pages by following the chain of directory offsets ourselves, loop-safe and bounded, without
// parsing each directory. A chain that ends in an unreadable directory counts the readable ones, as
// libtiff does.
bool count_pages(const uint8_t* b, uint64_t n, int* pages, std::string* error) {
  *pages = 0;
  if (n < 8) {
    *error = "TIFF: the file is truncated inside its header";
    return false;
  }
  const bool big_endian = b[0] == 'M';
  const bool bigtiff = read_uint(b + 2, 2, big_endian) == 43;
  if (bigtiff && n < 16) {
    *error = "TIFF: the file is truncated inside its BigTIFF header";
    return false;
  }
  const int offset_bytes = bigtiff ? 8 : 4, count_bytes = bigtiff ? 8 : 2, entry_bytes = bigtiff ? 20 : 12;
  uint64_t offset = read_uint(b + (bigtiff ? 8 : 4), offset_bytes, big_endian);
  std::unordered_set<uint64_t> seen;
  while (offset != 0) {
    if (offset > n || n - offset < uint64_t(count_bytes)) break;
    const uint64_t entries = read_uint(b + offset, count_bytes, big_endian);
    if (entries > (n - offset) / entry_bytes) break;  // cannot all be in the file
    const uint64_t next_at = offset + count_bytes + entries * entry_bytes;
    if (next_at > n || n - next_at < uint64_t(offset_bytes)) break;
    if (!seen.insert(offset).second) {
      *error = "TIFF: the chain of pages loops back on itself; the file is damaged";
      return false;
    }
    if (*pages == kMaxPages) {
      *error = "TIFF: more than " + std::to_string(kMaxPages) + " pages are not supported";
      return false;
    }
    ++*pages;
    offset = read_uint(b + next_at, offset_bytes, big_endian);
  }
  if (*pages == 0) {
    *error = "TIFF: the file has no readable page";
    return false;
  }
  return true;
}

const char* compression_name(uint16_t c) {
  switch (c) {
    case COMPRESSION_OJPEG: return "old-style JPEG";
    case COMPRESSION_JPEG: return "JPEG";
    case COMPRESSION_CCITTRLE: case COMPRESSION_CCITTFAX3: case COMPRESSION_CCITTFAX4: return "CCITT fax";
    case COMPRESSION_LZMA: return "LZMA";
    case COMPRESSION_ZSTD: return "Zstandard";
    case COMPRESSION_WEBP: return "WebP";
    case COMPRESSION_JXL: return "JPEG XL";
    case COMPRESSION_LERC: return "LERC";
    case 34712: return "JPEG 2000";
    default: return nullptr;
  }
}

// The current directory's sample layout, validated against what CellDrop decodes.
struct PageLayout {
  uint32_t width = 0, height = 0;
  uint16_t spp = 1, bits = 8, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
  SampleType type = SampleType::U8;
  bool is_signed = false;
  bool tiled = false;
  uint32_t tile_width = 0, tile_height = 0, rows_per_strip = 0;
};

bool read_layout(TIFF* tif, const TiffSession& s, PageLayout* L, std::string* error) {
  uint16_t compression = COMPRESSION_NONE, photometric = 0;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &L->width) ||
      !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &L->height) || L->width == 0 || L->height == 0) {
    *error = with_detail("the page declares no image size (width or height missing or zero)", s);
    return false;
  }
  if (L->width > uint32_t(std::numeric_limits<int>::max()) ||
      L->height > uint32_t(std::numeric_limits<int>::max())) {
    *error = "TIFF: width or height above 2^31 is not supported";
    return false;
  }
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &L->spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &L->bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &L->format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &L->planar);
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
  TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
  if (L->spp == 0) {
    *error = "TIFF: the page declares 0 samples per pixel";
    return false;
  }
  if (L->format == SAMPLEFORMAT_IEEEFP) {
    if (L->bits != 32) {
      *error = "TIFF: " + std::to_string(L->bits) +
               "-bit floating-point samples are not supported; save as 32-bit float";
      return false;
    }
    L->type = SampleType::F32;
  } else if (L->format == SAMPLEFORMAT_UINT || L->format == SAMPLEFORMAT_INT) {
    if (L->bits != 8 && L->bits != 16 && L->bits != 32) {
      *error = "TIFF: " + std::to_string(L->bits) +
               "-bit integer samples are not supported; save as 8, 16 or 32-bit";
      return false;
    }
    L->type = L->bits == 8 ? SampleType::U8 : L->bits == 16 ? SampleType::U16 : SampleType::U32;
    L->is_signed = L->format == SAMPLEFORMAT_INT;
  } else {
    *error = "TIFF: sample format " + std::to_string(L->format) +
             " (complex or untyped) is not supported; save as integer or 32-bit float";
    return false;
  }
  if (L->planar != PLANARCONFIG_CONTIG && L->planar != PLANARCONFIG_SEPARATE) {
    *error = "TIFF: unknown planar configuration " + std::to_string(L->planar);
    return false;
  }
  if (!TIFFIsCODECConfigured(compression)) {
    const char* name = compression_name(compression);
    *error = std::string("TIFF: ") + (name ? name : "compression " + std::to_string(compression)) +
             " compression is not supported; re-save without compression or with LZW, Deflate or PackBits";
    return false;
  }
  if (photometric == PHOTOMETRIC_YCBCR && L->planar == PLANARCONFIG_CONTIG) {
    uint16_t sub_h = 1, sub_v = 1;
    TIFFGetFieldDefaulted(tif, TIFFTAG_YCBCRSUBSAMPLING, &sub_h, &sub_v);
    if (sub_h != 1 || sub_v != 1) {
      *error = "TIFF: chroma-subsampled YCbCr is not supported; save as RGB";
      return false;
    }
  }
  L->tiled = TIFFIsTiled(tif) != 0;
  if (L->tiled) {
    if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &L->tile_width) ||
        !TIFFGetField(tif, TIFFTAG_TILELENGTH, &L->tile_height) || L->tile_width == 0 ||
        L->tile_height == 0) {
      *error = "TIFF: a tiled page without a valid tile size";
      return false;
    }
  } else {
    L->rows_per_strip = L->height;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &L->rows_per_strip);
    if (L->rows_per_strip == 0 || L->rows_per_strip > L->height) L->rows_per_strip = L->height;
  }
  return true;
}

// ImageJ first (its resolution is in the unit its description names), then OME-XML, then resolution
// tags. The tags are trusted only with ResolutionUnit = centimetre: inch is the TIFF default and writers
// that know nothing of the optics (Photoshop, scanners, libtiff's tools, most cameras' software) store
// 72 or 300 dpi there, which would claim pixels of 353 or 85 µm. A wrong size silently breaks size
// filters and measurements; an unknown one only makes the user enter it.
void read_pixel_size(TIFF* tif, double* x_um, double* y_um) {
  *x_um = *y_um = 0.0;
  float xres = 0.0f, yres = 0.0f;
  const bool have_res = TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) &&
                        TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres) && std::isfinite(xres) &&
                        std::isfinite(yres) && xres > 0.0f && yres > 0.0f;
  const char* text = nullptr;
  if (TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &text) && text) {
    const std::string description(text);
    if (description.compare(0, 7, "ImageJ=") == 0) {
      double um_per_unit = 0.0;
      if (have_res && imagej_unit_to_um(description, &um_per_unit)) {
        *x_um = um_per_unit / double(xres);
        *y_um = um_per_unit / double(yres);
      }
      return;  // an ImageJ file without a unit is uncalibrated, whatever its tags say
    }
    double ox = 0.0, oy = 0.0;
    if (ome_physical_size_um(description, &ox, &oy)) {
      *x_um = ox;
      *y_um = oy;
      return;
    }
  }
  uint16_t unit = RESUNIT_INCH;
  TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
  if (have_res && unit == RESUNIT_CENTIMETER) {
    *x_um = 1e4 / double(xres);
    *y_um = 1e4 / double(yres);
  }
}

bool describe_page(TIFF* tif, const TiffSession& s, int pages, ImageInfo* info, PageLayout* layout,
                   std::string* error) {
  if (!read_layout(tif, s, layout, error)) return false;
  info->format = "tiff";
  info->width = int(layout->width);
  info->height = int(layout->height);
  info->channels = int(layout->spp);
  info->type = layout->type;
  info->pages = pages;
  read_pixel_size(tif, &info->pixel_size_x_um, &info->pixel_size_y_um);
  return true;
}

// The channels of one image stored one per page (ImageJ hyperstacks, OME-TIFF): how many consecutive
// pages make an image, as the first page's description says and only when those pages agree (one
// sample each, one size, one type); 1 otherwise, and the pages are then separate images. Leaves the
// handle on the first page.
int channels_in_pages(TIFF* tif, TiffSession* s, int pages) {
  const char* text = nullptr;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &text) || !text) return 1;
  const int channels = tiff_channels_in_pages(text);
  if (channels <= 1 || channels > pages) return 1;
  PageLayout first, page;
  std::string ignored;
  bool agree = true;
  for (int c = 0; c < channels && agree; ++c) {
    agree = TIFFSetDirectory(tif, tdir_t(c)) && read_layout(tif, *s, c == 0 ? &first : &page, &ignored);
    if (agree && c > 0) agree = page.width == first.width && page.height == first.height && page.type == first.type;
    agree = agree && (c == 0 ? first : page).spp == 1;
  }
  s->first_error.clear();
  TIFFSetDirectory(tif, 0);
  return agree ? channels : 1;
}

// Copies `rows` rows of `cols` pixels from a block (strip or tile, `block_cols` pixels wide) of one
// plane (planar: sample `channel` only) or of all samples (chunky: channel < 0) into the image.
template <class T>
void copy_block(const uint8_t* block, uint32_t block_cols, uint32_t rows, uint32_t cols, int channel,
                Image* img, uint32_t x0, uint32_t y0) {
  const size_t C = size_t(img->channels);
  T* dst = samples<T>(*img);
  const T* src = reinterpret_cast<const T*>(block);
  for (uint32_t r = 0; r < rows; ++r) {
    T* d = dst + ((size_t(y0) + r) * size_t(img->width) + x0) * C;
    if (channel < 0) {
      memcpy(d, src + size_t(r) * block_cols * C, size_t(cols) * C * sizeof(T));
    } else {
      const T* s = src + size_t(r) * block_cols;
      d += channel;
      for (uint32_t x = 0; x < cols; ++x) d[size_t(x) * C] = s[x];
    }
  }
}

void copy_block_any(size_t sample_bytes, const uint8_t* block, uint32_t block_cols, uint32_t rows,
                    uint32_t cols, int channel, Image* img, uint32_t x0, uint32_t y0) {
  if (sample_bytes == 1) copy_block<uint8_t>(block, block_cols, rows, cols, channel, img, x0, y0);
  else if (sample_bytes == 2) copy_block<uint16_t>(block, block_cols, rows, cols, channel, img, x0, y0);
  else copy_block<uint32_t>(block, block_cols, rows, cols, channel, img, x0, y0);
}

bool read_strips(TIFF* tif, TiffSession* s, const PageLayout& L, Image* img, std::string* error) {
  const bool planar = L.planar == PLANARCONFIG_SEPARATE && L.spp > 1;
  const size_t sample_bytes = sample_type_size(L.type);
  const uint32_t strips_per_plane = (L.height - 1) / L.rows_per_strip + 1;
  const uint32_t planes = planar ? L.spp : 1;
  const uint64_t needed = uint64_t(strips_per_plane) * planes;
  const uint32_t available = TIFFNumberOfStrips(tif);
  if (available < needed) {
    *error = "TIFF: the page lists " + std::to_string(available) + " strips but its size needs " +
             std::to_string(needed) + "; the file is damaged";
    return false;
  }
  const size_t row_samples = size_t(L.width) * (planar ? 1 : L.spp);
  // Chunky strips are whole rows in our layout already: decode them in place. Planar ones go through a
  // buffer and are interleaved.
  std::vector<uint8_t> buffer(planar ? row_samples * sample_bytes * L.rows_per_strip : 0);
  for (uint32_t p = 0; p < planes; ++p) {
    for (uint32_t k = 0; k < strips_per_plane; ++k) {
      const uint32_t y0 = k * L.rows_per_strip;
      const uint32_t rows = std::min(L.rows_per_strip, L.height - y0);
      const tmsize_t want = tmsize_t(row_samples * sample_bytes * rows);
      const uint32_t strip = p * strips_per_plane + k;
      s->first_error.clear();
      uint8_t* target = planar ? buffer.data() : img->data.data() + size_t(y0) * row_samples * sample_bytes;
      if (TIFFReadEncodedStrip(tif, strip, target, want) != want || !s->first_error.empty()) {
        *error = with_detail("strip " + std::to_string(strip + 1) + " of " + std::to_string(needed) +
                                 " is truncated or corrupt",
                             *s);
        return false;
      }
      if (planar) copy_block_any(sample_bytes, buffer.data(), L.width, rows, L.width, int(p), img, 0, y0);
    }
  }
  return true;
}

bool read_tiles(TIFF* tif, TiffSession* s, const PageLayout& L, uint64_t max_samples, Image* img,
                std::string* error) {
  const bool planar = L.planar == PLANARCONFIG_SEPARATE && L.spp > 1;
  const size_t sample_bytes = sample_type_size(L.type);
  const uint64_t tile_samples = uint64_t(L.tile_width) * L.tile_height * (planar ? 1 : L.spp);
  // Tiles may exceed a small image (a 100x100 image in 256x256 tiles is legal), so the tile is held to
  // the same budget as the image rather than to the image size.
  if (tile_samples > std::max<uint64_t>(max_samples, 1 << 20) ||
      tile_samples * sample_bytes > uint64_t(TIFF_TMSIZE_T_MAX) / 2) {
    *error = "TIFF: the declared tile size " + std::to_string(L.tile_width) + " x " +
             std::to_string(L.tile_height) + " exceeds the sample limit";
    return false;
  }
  const uint32_t across = (L.width - 1) / L.tile_width + 1;
  const uint32_t down = (L.height - 1) / L.tile_height + 1;
  const uint32_t planes = planar ? L.spp : 1;
  const uint64_t needed = uint64_t(across) * down * planes;
  const uint32_t available = TIFFNumberOfTiles(tif);
  if (available < needed) {
    *error = "TIFF: the page lists " + std::to_string(available) + " tiles but its size needs " +
             std::to_string(needed) + "; the file is damaged";
    return false;
  }
  const tmsize_t want = tmsize_t(tile_samples * sample_bytes);
  std::vector<uint8_t> buffer(size_t(tile_samples) * sample_bytes);
  for (uint32_t p = 0; p < planes; ++p) {
    for (uint32_t ty = 0; ty < down; ++ty) {
      for (uint32_t tx = 0; tx < across; ++tx) {
        const uint32_t tile = (p * down + ty) * across + tx;
        s->first_error.clear();
        if (TIFFReadEncodedTile(tif, tile, buffer.data(), want) != want || !s->first_error.empty()) {
          *error = with_detail("tile " + std::to_string(tile + 1) + " of " + std::to_string(needed) +
                                   " is truncated or corrupt",
                               *s);
          return false;
        }
        const uint32_t x0 = tx * L.tile_width, y0 = ty * L.tile_height;
        const uint32_t cols = std::min(L.tile_width, L.width - x0);
        const uint32_t rows = std::min(L.tile_height, L.height - y0);
        copy_block_any(sample_bytes, buffer.data(), L.tile_width, rows, cols, planar ? int(p) : -1, img,
                       x0, y0);
      }
    }
  }
  return true;
}

// Signed -> unsigned of the same width by adding 2^(bits-1): flipping the top bit does exactly that.
void offset_signed(Image* img) {
  const size_t n = img->sample_count();
  if (img->type == SampleType::U8) {
    uint8_t* p = img->data.data();
    for (size_t i = 0; i < n; ++i) p[i] ^= 0x80u;
  } else if (img->type == SampleType::U16) {
    uint16_t* p = samples<uint16_t>(*img);
    for (size_t i = 0; i < n; ++i) p[i] ^= 0x8000u;
  } else {
    uint32_t* p = samples<uint32_t>(*img);
    for (size_t i = 0; i < n; ++i) p[i] ^= 0x80000000u;
  }
}

// Largest single allocation libtiff may make. We always hand it our own pixel buffers, so what it
// allocates is raw (compressed) strip data, at most the file, and per-strip arrays, which a directory
// can only make huge by declaring a huge image without StripByteCounts (libtiff then estimates one
// count per strip): this cap stops that before our sample budget is even consulted.
uint64_t libtiff_alloc_cap(uint64_t file_size) { return (uint64_t(256) << 20) + 2 * file_size; }

// Puts a one-channel page into channel `c` of a stack of the same size and sample width.
template <class T>
void interleave_channel(const Image& page, int c, Image* stack) {
  const size_t n = size_t(page.width) * size_t(page.height), C = size_t(stack->channels);
  const T* src = reinterpret_cast<const T*>(page.data.data());
  T* dst = reinterpret_cast<T*>(stack->data.data()) + c;
  for (size_t i = 0; i < n; ++i) dst[i * C] = src[i];
}

// One page's pixels, in the page's own channels, signed samples offset to unsigned.
bool read_page(TIFF* tif, TiffSession* s, const PageLayout& layout, uint64_t max_samples, Image* out,
               std::string* error) {
  Image img = make_image(int(layout.width), int(layout.height), int(layout.spp), layout.type);
  const bool ok = layout.tiled ? read_tiles(tif, s, layout, max_samples, &img, error)
                               : read_strips(tif, s, layout, &img, error);
  if (!ok) return false;
  if (layout.is_signed) offset_signed(&img);
  *out = std::move(img);
  return true;
}

}  // namespace

bool tiff_probe(const uint8_t* bytes, size_t size, ImageInfo* info, std::string* error) {
  int pages = 0;
  if (!count_pages(bytes, size, &pages, error)) return false;
  TiffSession session;
  session.data = bytes;
  session.size = size;
  TiffHandle handle;
  if (!open_tiff(&session, libtiff_alloc_cap(size), &handle, error)) return false;
  const int channels = channels_in_pages(handle.tif, &session, pages);
  PageLayout layout;
  if (!describe_page(handle.tif, session, pages / channels, info, &layout, error)) return false;
  if (channels > 1) info->channels = channels;
  return true;
}

bool tiff_decode(const uint8_t* bytes, size_t size, const DecodeOptions& options, Image* out,
                 std::string* error) {
  int pages = 0;
  if (!count_pages(bytes, size, &pages, error)) return false;
  TiffSession session;
  session.data = bytes;
  session.size = size;
  TiffHandle handle;
  if (!open_tiff(&session, libtiff_alloc_cap(size), &handle, error)) return false;
  // A page of a hyperstack is all its channels: page p is the file's pages p*C ... p*C + C - 1.
  const int channels = channels_in_pages(handle.tif, &session, pages);
  const int images = pages / channels;
  if (options.page >= images) {
    *error = "TIFF: page " + std::to_string(options.page) + " does not exist; the file has " +
             std::to_string(images) + (images == 1 ? " page" : " pages") + " (numbered from 0)";
    return false;
  }
  const int first = options.page * channels;
  if (first > 0 && !TIFFSetDirectory(handle.tif, tdir_t(first))) {
    *error = with_detail("cannot read page " + std::to_string(first), session);
    return false;
  }
  ImageInfo info;
  PageLayout layout;
  if (!describe_page(handle.tif, session, images, &info, &layout, error)) return false;

  const uint64_t samples = uint64_t(layout.width) * layout.height * layout.spp * uint64_t(channels);
  if (samples > options.max_samples) {
    *error = "TIFF: " + std::to_string(layout.width) + " x " + std::to_string(layout.height) + " x " +
             std::to_string(layout.spp * channels) + " samples exceed the limit of " +
             std::to_string(options.max_samples) + "; raise the sample limit to open it";
    return false;
  }
  if (samples * sample_type_size(layout.type) > uint64_t(SIZE_MAX) / 2) {
    *error = "TIFF: the image is too large for this platform's memory";
    return false;
  }
  if (channels > 1 && layout.spp != 1) {
    *error = "TIFF: page " + std::to_string(first) + " has " + std::to_string(layout.spp) +
             " samples per pixel where the file stores one channel per page";
    return false;
  }
  Image img;
  if (!read_page(handle.tif, &session, layout, options.max_samples, &img, error)) return false;
  if (channels > 1) {
    // Interleave the channel pages into the one chunky layout.
    Image stack = make_image(img.width, img.height, channels, img.type);
    for (int c = 0; c < channels; ++c) {
      if (c > 0) {
        PageLayout next;
        std::string why;
        if (!TIFFSetDirectory(handle.tif, tdir_t(first + c)) || !read_layout(handle.tif, session, &next, &why)) {
          *error = why.empty() ? with_detail("cannot read page " + std::to_string(first + c), session) : why;
          return false;
        }
        // Only the first image's pages were checked to agree: a later one must, before it is copied.
        if (next.width != layout.width || next.height != layout.height || next.type != layout.type || next.spp != 1) {
          *error = "TIFF: page " + std::to_string(first + c) + " is not the size or sample type of the other channels";
          return false;
        }
        if (!read_page(handle.tif, &session, next, options.max_samples, &img, &why)) {
          *error = why;
          return false;
        }
      }
      switch (sample_type_size(img.type)) {
        case 1: interleave_channel<uint8_t>(img, c, &stack); break;
        case 2: interleave_channel<uint16_t>(img, c, &stack); break;
        default: interleave_channel<uint32_t>(img, c, &stack); break;  // uint32 and float32 alike
      }
    }
    img = std::move(stack);
  }
  img.pixel_size_x_um = info.pixel_size_x_um;
  img.pixel_size_y_um = info.pixel_size_y_um;
  *out = std::move(img);
  return true;
}

}  // namespace celldrop

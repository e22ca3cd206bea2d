// PNG, JPEG and BMP through stb_image, the only translation unit that compiles its implementation.
//
// Two guards wrap stb_image: (1) the size the header declares is checked against the caller's sample
// budget before any pixel is decoded; (2) every allocation stb makes is capped (see StbAllocCap), because
// a tiny PNG can declare a small image yet carry a zlib stream that inflates without end, and stb grows
// its inflate buffer by doubling up to 2 GB before it notices.
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/decode_formats.h"

namespace celldrop {
namespace {
// Largest single allocation stb may make during the current call on this thread; 0 = no call active.
thread_local size_t g_stb_alloc_cap = 0;
}  // namespace
}  // namespace celldrop

static void* celldrop_stb_malloc(size_t n) {
  if (n > celldrop::g_stb_alloc_cap) return nullptr;
  return malloc(n);
}
static void* celldrop_stb_realloc(void* p, size_t n) {
  if (n > celldrop::g_stb_alloc_cap) return nullptr;
  return realloc(p, n);
}

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC  // private to this file: other parts of the app may carry their own copy
#define STBI_NO_STDIO     // bytes in, never files
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_MALLOC(n) celldrop_stb_malloc(n)
#define STBI_REALLOC(p, n) celldrop_stb_realloc(p, n)
#define STBI_FREE(p) free(p)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#if defined(__clang__)
// stb_image 2.27 calls memcpy(NULL, src, 0) for a PNG whose first IDAT chunk is empty (found by
// fuzz_png; tests/fuzz/regressions/fuzz_png/first-idat-empty): nothing is copied, but UBSan's nonnull
// check stops the fuzzer. Only that check is switched off, and only inside stb's functions.
#pragma clang attribute push(__attribute__((no_sanitize("nonnull-attribute"))), apply_to = function)
#endif
#include "stb_image.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace celldrop {
namespace {

// Sets the allocation cap for the duration of one stb call, and restores "no call active" after.
struct StbAllocCap {
  explicit StbAllocCap(size_t cap) { g_stb_alloc_cap = cap; }
  ~StbAllocCap() { g_stb_alloc_cap = 0; }
};

std::string format_label(const char* format) {
  if (strcmp(format, "png") == 0) return "PNG";
  if (strcmp(format, "jpeg") == 0) return "JPEG";
  return "BMP";
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Whether `per_metre` pixels per metre is a whole number of dots per inch up to 1200, as far as the
// rounding to whole pixels per metre allows (half a pixel per metre is 0.0127 dpi): what image editors
// and screenshot tools stamp on every picture (72, 96, 300 dpi), knowing nothing of the optics. As
// microscope calibrations these would be pixels of 21 um or more, out of a microscope's range.
bool is_screen_or_print_dpi(uint32_t per_metre) {
  const double dpi = double(per_metre) * 0.0254;
  return std::round(dpi) <= 1200.0 && std::fabs(dpi - std::round(dpi)) <= 0.0128;
}

// Pixel size from PNG's pHYs chunk when its unit is the metre (unit 0 only gives an aspect ratio) and
// it is no screen or print resolution (is_screen_or_print_dpi; TIFF's inch is ignored for the same
// reason, tiff_reader.cpp). A wrong size silently breaks size filters and measurements; an unknown
// one only makes the user enter it. Chunks before the first IDAT are scanned; pHYs must precede IDAT
// by the PNG specification.
void png_pixel_size(const uint8_t* b, size_t n, double* x_um, double* y_um) {
  size_t pos = 8;
  while (pos + 12 <= n) {
    uint32_t length = read_be32(b + pos);
    const uint8_t* type = b + pos + 4;
    if (length > n - pos - 12) return;  // truncated chunk: stb will report the real problem
    if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0) return;
    if (memcmp(type, "pHYs", 4) == 0 && length == 9) {
      const uint8_t* d = b + pos + 8;
      uint32_t ppu_x = read_be32(d), ppu_y = read_be32(d + 4);
      if (d[8] == 1 && ppu_x > 0 && ppu_y > 0 && !(is_screen_or_print_dpi(ppu_x) && is_screen_or_print_dpi(ppu_y))) {
        *x_um = 1e6 / double(ppu_x);
        *y_um = 1e6 / double(ppu_y);
      }
      return;
    }
    pos += 12 + size_t(length);
  }
}

// What a walk over a JPEG's marker segments found.
struct JpegWalk {
  bool tables_fit = true;     // every Huffman table declares at most 256 codes
  bool tables_defined = true; // every scan uses only Huffman tables defined before it
  bool ends_properly = false;  // an end-of-image marker follows the entropy-coded data
};

// stb_image 2.27 (Debian 12's) builds a Huffman table from a DHT segment without checking that its 16
// code counts add up to at most 256 symbols, and then writes past the table (found by fuzz_jpeg;
// tests/fuzz/regressions/fuzz_jpeg/). Before stb sees a JPEG, walk its marker segments as stb does,
// entropy-coded data included (progressive files define tables between scans), and refuse any table
// that declares more symbols than exist. stb also decodes a scan with a Huffman table that no DHT
// defined, reading its uninitialised memory as a table and indexing far outside it (found by fuzz_jpeg
// too): the walk checks that each scan's tables were defined before it, in the roles the scan uses them.
// The same walk tells whether the file ends with EOI after its scans: stb decodes a truncated JPEG
// without complaint, padding the missing part with grey.
JpegWalk walk_jpeg(const uint8_t* b, size_t n) {
  JpegWalk walk;
  bool in_scan = false;
  bool progressive = false;
  bool defined[2][4] = {};  // [class: 0 DC, 1 AC][table id]
  size_t pos = 2;  // after SOI
  while (pos + 1 < n) {
    if (b[pos] != 0xFF) {  // stb skips stray bytes between segments one at a time: so do we
      ++pos;
      continue;
    }
    while (pos < n && b[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= n) break;
    const uint8_t marker = b[pos++];
    if (marker == 0xD9) {  // EOI
      walk.ends_properly = in_scan;
      break;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    if (pos + 2 > n) break;
    const size_t length = (size_t(b[pos]) << 8) | b[pos + 1];
    if (length < 2) break;  // stb rejects this itself
    if (marker == 0xC4) {  // read exactly as stb does: tables may run past the segment's end
      size_t t = pos + 2;
      long left = long(length) - 2;
      while (left > 0) {
        if (t < n && (b[t] >> 4) <= 1 && (b[t] & 15) <= 3) defined[b[t] >> 4][b[t] & 15] = true;
        size_t symbols = 0;
        for (size_t i = 1; i <= 16; ++i) symbols += t + i < n ? b[t + i] : 0;  // stb reads 0 past EOF
        if (symbols > 256) {
          walk.tables_fit = false;
          return walk;
        }
        t += 17 + symbols;
        left -= long(17 + symbols);
      }
      if (left != 0) break;  // stb rejects the segment itself
    }
    if (marker == 0xC2) progressive = true;
    if (marker == 0xDA && pos + 3 <= n) {  // SOS: Ns, then Ns x (component, DC/AC table ids), Ss, Se, Ah/Al
      const size_t count = b[pos + 2], end = pos + 3 + 2 * count;
      if (end + 3 <= n) {
        const int ss = b[end], ah = b[end + 2] >> 4;
        // Baseline scans use both tables; a progressive DC scan its DC table (the first pass only), a
        // progressive AC scan its AC table.
        const bool uses_dc = !progressive || (ss == 0 && ah == 0), uses_ac = !progressive || ss != 0;
        for (size_t c = 0; c < count; ++c) {
          const int dc = b[pos + 4 + 2 * c] >> 4, ac = b[pos + 4 + 2 * c] & 15;
          if ((uses_dc && dc <= 3 && !defined[0][dc]) || (uses_ac && ac <= 3 && !defined[1][ac])) {
            walk.tables_defined = false;
            return walk;
          }
        }
      }
    }
    pos += length;
    if (marker == 0xDA) {  // entropy-coded data follows up to the next marker (not FF00, not RSTn)
      in_scan = true;
      while (pos + 1 < n && !(b[pos] == 0xFF && b[pos + 1] != 0x00 && !(b[pos + 1] >= 0xD0 && b[pos + 1] <= 0xD7)))
        ++pos;
    }
  }
  return walk;
}

uint32_t read_le(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// stb_image reads past the end of a BMP as zeros and reports success, so a truncated download would
// decode to an image with a black band. For the uncompressed layouts (all but RLE, which stb refuses
// anyway) the pixel array's size follows from the header: check the file holds it.
bool bmp_pixels_present(const uint8_t* b, size_t n) {
  if (n < 26) return true;  // too short for a header: stb reports that itself
  const uint32_t pixel_offset = read_le(b + 10, 4), header_size = read_le(b + 14, 4);
  uint64_t width = 0, height = 0, bits = 0, compression = 0;
  if (header_size == 12) {
    width = read_le(b + 18, 2);
    height = read_le(b + 20, 2);
    bits = read_le(b + 24, 2);
  } else if (header_size >= 40 && n >= 34) {
    const int32_t w = int32_t(read_le(b + 18, 4)), h = int32_t(read_le(b + 22, 4));
    width = w < 0 ? 0 : uint64_t(w);
    height = h < 0 ? uint64_t(-int64_t(h)) : uint64_t(h);  // negative height: rows stored top-down
    bits = read_le(b + 28, 2);
    compression = read_le(b + 30, 4);
  } else {
    return true;
  }
  if (compression != 0 && compression != 3 && compression != 6) return true;  // RLE etc.: stb decides
  const uint64_t row_bytes = (width * bits + 31) / 32 * 4;
  return uint64_t(pixel_offset) + row_bytes * height <= n;
}

// The header as stb reads it, plus our checks. Channels are the ones stb delivers when asked for
// exactly that many: palette PNGs expand to RGB(A), CMYK JPEGs convert to RGB, and a tRNS chunk on a
// grey or RGB PNG is ignored (stb's info does not count it; microscopy has no use for colour-key alpha).
bool stb_read_header(const char* format, const uint8_t* bytes, size_t size, ImageInfo* info,
                     std::string* error) {
  const std::string label = format_label(format);
  if (size > size_t(INT_MAX)) {
    *error = label + ": files over 2 GB are not supported";
    return false;
  }
  if (strcmp(format, "jpeg") == 0) {
    const JpegWalk walk = walk_jpeg(bytes, size);
    if (!walk.tables_fit) {
      *error = "JPEG: a Huffman table declares more than 256 codes; the file is damaged";
      return false;
    }
    if (!walk.tables_defined) {
      *error = "JPEG: a scan uses a Huffman table the file never defines; the file is damaged";
      return false;
    }
  }
  int w = 0, h = 0, comp = 0;
  StbAllocCap cap(size_t(64) << 20);  // header parsing allocates little (PNG: the palette at most)
  // The per-format info functions rather than stbi_info_from_memory: that one tries every format in
  // turn and reports the last failure ("unknown image type"), hiding the real reason.
  stbi__context ctx;
  stbi__start_mem(&ctx, bytes, int(size));
  const bool is_png = strcmp(format, "png") == 0, is_jpeg = strcmp(format, "jpeg") == 0;
  const int ok = is_png ? stbi__png_info(&ctx, &w, &h, &comp)
                 : is_jpeg ? stbi__jpeg_info(&ctx, &w, &h, &comp)
                           : stbi__bmp_info(&ctx, &w, &h, &comp);
  if (!ok) {
    const char* why = stbi_failure_reason();
    if (why && strcmp(why, "too large") == 0) {
      *error = label + ": the image is too large for the " + label +
               " decoder (1 GB of samples at most); convert it to TIFF";
    } else {
      *error = label + ": cannot read the header (" + (why ? why : "unknown reason") +
               "); the file is damaged or not really a " + label;
    }
    return false;
  }
  if (w <= 0 || h <= 0 || comp < 1 || comp > 4) {
    *error = label + ": the header declares an empty or impossible image";
    return false;
  }
  info->format = format;
  info->width = w;
  info->height = h;
  info->channels = comp;
  info->pages = 1;
  info->type = is_png && stbi_is_16_bit_from_memory(bytes, int(size)) ? SampleType::U16 : SampleType::U8;
  if (strcmp(format, "png") == 0) png_pixel_size(bytes, size, &info->pixel_size_x_um, &info->pixel_size_y_um);
  return true;
}

}  // namespace

bool stb_probe(const char* format, const uint8_t* bytes, size_t size, ImageInfo* info,
               std::string* error) {
  return stb_read_header(format, bytes, size, info, error);
}

bool stb_decode(const char* format, const uint8_t* bytes, size_t size, const DecodeOptions& options,
                Image* out, std::string* error) {
  const std::string label = format_label(format);
  if (options.page != 0) {
    *error = label + " files have a single page; page " + std::to_string(options.page) +
             " does not exist";
    return false;
  }
  ImageInfo info;
  if (!stb_read_header(format, bytes, size, &info, error)) return false;
  const uint64_t samples = uint64_t(info.width) * uint64_t(info.height) * uint64_t(info.channels);
  if (samples > options.max_samples) {
    *error = label + ": " + std::to_string(info.width) + " x " + std::to_string(info.height) + " x " +
             std::to_string(info.channels) + " samples exceed the limit of " +
             std::to_string(options.max_samples) + "; raise the sample limit to open it";
    return false;
  }
  if (strcmp(format, "jpeg") == 0 && !walk_jpeg(bytes, size).ends_properly) {
    *error = "JPEG: the file ends before its image data does (no end-of-image marker); it is truncated";
    return false;
  }
  if (strcmp(format, "bmp") == 0 && !bmp_pixels_present(bytes, size)) {
    *error = "BMP: the file ends before its pixel data does; it is truncated";
    return false;
  }
  const size_t bytes_per_sample = info.type == SampleType::U16 ? 2 : 1;
  if (samples * bytes_per_sample > uint64_t(SIZE_MAX) / 2) {  // 32-bit WebAssembly: 4 GB address space
    *error = label + ": the image is too large for this platform's memory";
    return false;
  }
  const size_t image_bytes = size_t(samples) * bytes_per_sample;
  // stb's largest single buffers: the inflated PNG data (image plus a filter byte per row), progressive
  // JPEG coefficients (2 bytes per sample, padded to 16-pixel blocks) and the output. Four times the
  // padded image covers each of them; a zlib stream that inflates beyond that is refused.
  const uint64_t padded = (uint64_t(info.width) + 16) * (uint64_t(info.height) + 16) * uint64_t(info.channels);
  const uint64_t cap_bytes = 4 * padded * bytes_per_sample + (uint64_t(1) << 20);
  StbAllocCap cap(cap_bytes > uint64_t(SIZE_MAX) ? SIZE_MAX : size_t(cap_bytes));

  int w = 0, h = 0, file_comp = 0;
  void* pixels = info.type == SampleType::U16
                     ? static_cast<void*>(stbi_load_16_from_memory(bytes, int(size), &w, &h, &file_comp,
                                                                   info.channels))
                     : static_cast<void*>(stbi_load_from_memory(bytes, int(size), &w, &h, &file_comp,
                                                                info.channels));
  if (!pixels) {
    const char* why = stbi_failure_reason();
    std::string reason = why ? why : "unknown reason";
    if (reason == "outofmem" || reason == "output buffer limit")
      reason += ": the compressed data inflates beyond the declared image size";
    *error = label + ": cannot decode the pixels (" + reason + "); the file is damaged or truncated";
    return false;
  }
  if (w != info.width || h != info.height) {  // header and decoder disagree: do not guess
    free(pixels);
    *error = label + ": the decoded size differs from the header; the file is damaged";
    return false;
  }
  Image img = make_image(info.width, info.height, info.channels, info.type);
  memcpy(img.data.data(), pixels, image_bytes);
  free(pixels);
  img.pixel_size_x_um = info.pixel_size_x_um;
  img.pixel_size_y_um = info.pixel_size_y_um;
  *out = std::move(img);
  return true;
}

}  // namespace celldrop

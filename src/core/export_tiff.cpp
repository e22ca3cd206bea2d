// Label image -> TIFF in memory, through libtiff's client I/O (no temporary file: the page has none).
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "core/export.h"
#include "tiffio.h"

namespace celldrop {

namespace {

// A growable byte buffer that libtiff reads, writes and seeks like a file.
struct MemoryFile {
  std::vector<uint8_t>* bytes = nullptr;
  uint64_t pos = 0;
  std::string error;
};

tmsize_t mem_read(thandle_t h, void* buf, tmsize_t size) {
  MemoryFile* f = static_cast<MemoryFile*>(h);
  if (size <= 0 || f->pos >= f->bytes->size()) return 0;
  const size_t n = std::min(size_t(size), size_t(f->bytes->size() - f->pos));
  std::memcpy(buf, f->bytes->data() + f->pos, n);
  f->pos += n;
  return tmsize_t(n);
}

tmsize_t mem_write(thandle_t h, void* buf, tmsize_t size) {
  MemoryFile* f = static_cast<MemoryFile*>(h);
  if (size <= 0) return 0;
  const uint64_t end = f->pos + uint64_t(size);
  if (end > f->bytes->size()) f->bytes->resize(size_t(end));
  std::memcpy(f->bytes->data() + f->pos, buf, size_t(size));
  f->pos = end;
  return size;
}

toff_t mem_seek(thandle_t h, toff_t off, int whence) {
  MemoryFile* f = static_cast<MemoryFile*>(h);
  int64_t base = whence == SEEK_CUR ? int64_t(f->pos) : whence == SEEK_END ? int64_t(f->bytes->size()) : 0;
  const int64_t to = base + int64_t(off);
  if (to < 0) return toff_t(-1);
  f->pos = uint64_t(to);  // writing past the end grows the buffer then
  return toff_t(to);
}

int mem_close(thandle_t) { return 0; }
toff_t mem_size(thandle_t h) { return static_cast<MemoryFile*>(h)->bytes->size(); }
int mem_map(thandle_t, void**, toff_t*) { return 0; }  // no mapping: libtiff then reads
void mem_unmap(thandle_t, void*, toff_t) {}

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  MemoryFile* f = static_cast<MemoryFile*>(user);
  char msg[512];
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  if (f->error.empty()) f->error = std::string(module ? module : "libtiff") + ": " + msg;
  return 1;
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // nothing to tell

}  // namespace

bool write_labels_tiff(const Labels& labels, const LabelTiffOptions& options, std::vector<uint8_t>* out,
                       std::string* error) {
  if (labels.width <= 0 || labels.height <= 0 ||
      labels.data.size() != size_t(labels.width) * size_t(labels.height)) {
    *error = "label TIFF: the label image is empty or its size does not match its data";
    return false;
  }
  uint32_t max_label = 0;
  for (uint32_t v : labels.data) max_label = std::max(max_label, v);
  const int bits = max_label > 65535 ? 32 : 16;

  out->clear();
  MemoryFile file;
  file.bytes = out;
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &file);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, &file);
  // "w8" would force BigTIFF; plain "w" is classic TIFF, which every reader takes (< 4 GiB).
  TIFF* tif = TIFFClientOpenExt("labels.tif", "w", &file, mem_read, mem_write, mem_seek, mem_close, mem_size,
                                mem_map, mem_unmap, opts);
  TIFFOpenOptionsFree(opts);
  if (!tif) {
    *error = "label TIFF: libtiff could not start the file (" + file.error + ")";
    return false;
  }
  const size_t row_bytes = size_t(labels.width) * size_t(bits / 8);
  const uint32_t rows_per_strip = uint32_t(std::max<size_t>(1, 65536 / row_bytes));
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, uint32_t(labels.width));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, uint32_t(labels.height));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, uint16_t(bits));
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, uint16_t(1));
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, uint16_t(SAMPLEFORMAT_UINT));
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, uint16_t(PHOTOMETRIC_MINISBLACK));
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, uint16_t(PLANARCONFIG_CONTIG));
  TIFFSetField(tif, TIFFTAG_COMPRESSION, uint16_t(COMPRESSION_ADOBE_DEFLATE));
  TIFFSetField(tif, TIFFTAG_ZIPQUALITY, std::min(std::max(options.compression_level, 1), 9));
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rows_per_strip);
  TIFFSetField(tif, TIFFTAG_SOFTWARE, "CellDrop " CELLDROP_VERSION);
  if (options.pixel_size_um > 0) {
    // ImageJ reads the unit from its own description and the scale from the resolution tags.
    const float per_um = float(1.0 / options.pixel_size_um);
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, uint16_t(RESUNIT_NONE));
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, per_um);
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, per_um);
    TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, "ImageJ=1.53t\nunit=micron\n");
  }

  std::vector<uint8_t> row(row_bytes);
  bool ok = true;
  for (int y = 0; y < labels.height && ok; ++y) {
    const uint32_t* src = labels.data.data() + size_t(y) * size_t(labels.width);
    if (bits == 16) {
      uint16_t* dst = reinterpret_cast<uint16_t*>(row.data());
      for (int x = 0; x < labels.width; ++x) dst[x] = uint16_t(src[x]);
    } else {
      std::memcpy(row.data(), src, row_bytes);
    }
    ok = TIFFWriteScanline(tif, row.data(), uint32_t(y), 0) == 1;
  }
  ok = ok && TIFFWriteDirectory(tif) == 1;
  TIFFClose(tif);
  if (!ok || !file.error.empty()) {
    *error = "label TIFF: writing failed (" + (file.error.empty() ? std::string("unknown libtiff error") : file.error) + ")";
    out->clear();
    return false;
  }
  return true;
}

}  // namespace celldrop

// Contours -> ImageJ .roi files (the binary layout ImageJ's RoiDecoder reads) -> a zip.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/export.h"

namespace celldrop {

namespace {

void put16(std::vector<uint8_t>& b, size_t at, int v) {  // big-endian, as ImageJ writes
  b[at] = uint8_t((v >> 8) & 0xFF);
  b[at + 1] = uint8_t(v & 0xFF);
}
void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  put16(b, at, int(v >> 16));
  put16(b, at + 2, int(v & 0xFFFF));
}
void put_float(std::vector<uint8_t>& b, size_t at, float f) {
  uint32_t v;
  std::memcpy(&v, &f, 4);
  put32(b, at, v);
}

// Offsets in the 64-byte header.
enum : size_t { kVersion = 4, kType = 6, kTop = 8, kLeft = 10, kBottom = 12, kRight = 14, kCount = 16,
                kOptions = 50, kCoordinates = 64 };
const int kRoiVersion = 228;
const int kTypePolygon = 0;
const int kSubPixelResolution = 128;  // options flag: float coordinates follow the int16 ones

}  // namespace

bool write_imagej_roi(const Contour& c, std::vector<uint8_t>* out, std::string* error) {
  const size_t n = c.points.size();
  if (n < 3) {
    *error = "ImageJ ROI: object " + std::to_string(c.label) + " has no outline";
    return false;
  }
  if (n > 65535) {
    *error = "ImageJ ROI: object " + std::to_string(c.label) + "'s outline has " + std::to_string(n) +
             " vertices, more than a .roi file holds (65535); export it as GeoJSON instead";
    return false;
  }
  int left = c.points[0].x, top = c.points[0].y, right = left, bottom = top;
  for (const CornerPoint& p : c.points) {
    left = std::min(left, p.x);
    right = std::max(right, p.x);
    top = std::min(top, p.y);
    bottom = std::max(bottom, p.y);
  }
  if (right - left > 32767 || bottom - top > 32767) {
    *error = "ImageJ ROI: object " + std::to_string(c.label) + " spans more than 32767 px; export it as GeoJSON";
    return false;
  }
  // Bounds are int16 in the format: beyond 32767 px ImageJ relies on the float coordinates.
  const bool sub_pixel = right > 32767 || bottom > 32767;
  out->assign(kCoordinates + 4 * n + (sub_pixel ? 8 * n : 0), 0);
  std::vector<uint8_t>& b = *out;
  std::memcpy(b.data(), "Iout", 4);
  put16(b, kVersion, kRoiVersion);
  b[kType] = uint8_t(kTypePolygon);
  put16(b, kTop, top);
  put16(b, kLeft, left);
  put16(b, kBottom, bottom);
  put16(b, kRight, right);
  put16(b, kCount, int(n));
  put16(b, kOptions, sub_pixel ? kSubPixelResolution : 0);
  for (size_t i = 0; i < n; ++i) {
    put16(b, kCoordinates + 2 * i, c.points[i].x - left);
    put16(b, kCoordinates + 2 * n + 2 * i, c.points[i].y - top);
  }
  if (sub_pixel) {
    const size_t base = kCoordinates + 4 * n;
    for (size_t i = 0; i < n; ++i) {
      put_float(b, base + 4 * i, float(c.points[i].x));
      put_float(b, base + 4 * n + 4 * i, float(c.points[i].y));
    }
  }
  return true;
}

bool write_imagej_roi_zip(const std::vector<Contour>& contours, std::vector<uint8_t>* out, std::string* error) {
  if (contours.size() > 65535) {
    *error = "ImageJ ROI zip: " + std::to_string(contours.size()) +
             " objects is more than a ROI zip holds (65535); export GeoJSON instead";
    return false;
  }
  std::vector<ZipEntry> entries(contours.size());
  const int digits = std::max(4, int(std::to_string(contours.size()).size()));
  for (size_t i = 0; i < contours.size(); ++i) {
    const Contour& c = contours[i];
    if (!write_imagej_roi(c, &entries[i].data, error)) return false;
    int left = c.points[0].x, top = c.points[0].y, right = left, bottom = top;
    for (const CornerPoint& p : c.points) {
      left = std::min(left, p.x);
      right = std::max(right, p.x);
      top = std::min(top, p.y);
      bottom = std::max(bottom, p.y);
    }
    std::string index = std::to_string(i + 1);
    index.insert(0, size_t(digits) - std::min(index.size(), size_t(digits)), '0');
    char centre[32];
    std::snprintf(centre, sizeof centre, "-%04d-%04d.roi", (top + bottom) / 2, (left + right) / 2);
    entries[i].name = index + centre;
  }
  return write_zip(entries, true, out, error);
}

}  // namespace celldrop

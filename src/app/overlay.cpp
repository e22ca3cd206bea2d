#include "app/overlay.h"

#include <algorithm>

namespace celldrop {

const char* overlay_mode_name(OverlayMode mode) {
  switch (mode) {
    case OverlayMode::Filled: return "filled";
    case OverlayMode::Both: return "both";
    case OverlayMode::Outlines: break;
  }
  return "outlines";
}

uint32_t class_rgb(const ObjectMeasurements& m) {
  if (m.grade >= 0 && m.grade <= 3) return kGradeRgb[m.grade];
  if (m.positive < 0) return 0;
  return m.positive ? kPositiveRgb : kNegativeRgb;
}

const char* grade_name(int grade) {
  static const char* const names[4] = {"negative", "1+", "2+", "3+"};
  return grade >= 0 && grade <= 3 ? names[grade] : "";
}

uint32_t object_color(uint32_t id) {
  // A multiplicative hash with a final mix: ids 1, 2, 3 ... land far apart on the colour wheel.
  uint32_t h = id * 2654435761u;
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  // HSV with hue from the low 16 bits, saturation 0.55..0.9 from the next 8, value 1.
  const uint32_t hue = (h & 0xFFFFu) * 6u;  // 0 .. 6 * 65535, six sectors of 65536
  const uint32_t sector = hue >> 16, f = hue & 0xFFFFu;
  const uint32_t s = 140u + ((h >> 16) & 0xFFu) * 90u / 255u;  // saturation x 255
  const uint32_t v = 255u;
  const uint64_t one = 255u * 65536u;  // s x f at full saturation and a whole sector
  const uint32_t p = v * (255u - s) / 255u;
  const uint32_t q = uint32_t(uint64_t(v) * (one - uint64_t(s) * f) / one);
  const uint32_t t = uint32_t(uint64_t(v) * (one - uint64_t(s) * (65536u - f)) / one);
  uint32_t r = v, g = t, b = p;
  switch (sector) {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
  }
  return (r << 16) | (g << 8) | b;
}

void overlay_rgba_rect(const Labels& labels, OverlayMode mode, uint32_t outline_rgb, int x0, int y0, int x1, int y1,
                       uint8_t* rgba, const std::vector<uint32_t>* rgb_by_id) {
  const int w = labels.width, h = labels.height;
  x0 = std::max(x0, 0);
  x1 = std::min(x1, w);
  y0 = std::max(y0, 0);
  y1 = std::min(y1, h);
  if (y1 <= y0 || x1 <= x0) return;
  const size_t stride = size_t(x1 - x0);
  std::fill(rgba, rgba + size_t(y1 - y0) * stride * 4, uint8_t(0));
  const bool outlines = mode != OverlayMode::Filled, fill = mode != OverlayMode::Outlines;
  for (int y = y0; y < y1; y++) {
    for (int x = x0; x < x1; x++) {
      uint32_t id = labels.at(x, y);
      if (id == 0) continue;
      bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || labels.at(x - 1, y) != id ||
                  labels.at(x + 1, y) != id || labels.at(x, y - 1) != id || labels.at(x, y + 1) != id;
      const uint32_t class_rgb = rgb_by_id && id < rgb_by_id->size() ? (*rgb_by_id)[id] : 0;
      uint32_t rgb;
      if (outlines && edge) {
        rgb = class_rgb ? class_rgb : outline_rgb;
      } else if (fill) {
        rgb = class_rgb ? class_rgb : object_color(id);
      } else {
        continue;
      }
      uint8_t* p = rgba + (size_t(y - y0) * stride + size_t(x - x0)) * 4;
      p[0] = uint8_t(rgb >> 16);
      p[1] = uint8_t(rgb >> 8);
      p[2] = uint8_t(rgb);
      p[3] = 255;
    }
  }
}

std::vector<OverlayRect> class_change_rects(const std::vector<uint32_t>& before, const std::vector<uint32_t>& after,
                                            const std::vector<ObjectMeasurements>& objects) {
  std::vector<OverlayRect> rects;
  for (const ObjectMeasurements& m : objects) {
    const uint32_t was = m.id < before.size() ? before[m.id] : 0, now = m.id < after.size() ? after[m.id] : 0;
    if (was != now) rects.push_back({m.bbox_x0, m.bbox_y0, m.bbox_x1, m.bbox_y1});
  }
  return rects;
}

std::vector<uint32_t> label_areas(const Labels& labels) {
  uint32_t top = 0;
  for (uint32_t id : labels.data) top = std::max(top, id);
  std::vector<uint32_t> areas(size_t(top) + 1, 0);
  for (uint32_t id : labels.data) areas[id]++;
  return areas;
}

int count_objects(const std::vector<uint32_t>& areas) {
  int n = 0;
  for (size_t id = 1; id < areas.size(); id++) n += areas[id] > 0;
  return n;
}

}  // namespace celldrop

#include "app/overlay.h"

#include <algorithm>

namespace celldrop {

void outline_rgba(const Labels& labels, uint32_t rgb, std::vector<uint8_t>* rgba) {
  const int w = labels.width, h = labels.height;
  rgba->assign(size_t(w) * size_t(h) * 4, 0);
  const uint8_t r = uint8_t(rgb >> 16), g = uint8_t(rgb >> 8), b = uint8_t(rgb);
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      uint32_t id = labels.at(x, y);
      if (id == 0) continue;
      bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || labels.at(x - 1, y) != id ||
                  labels.at(x + 1, y) != id || labels.at(x, y - 1) != id || labels.at(x, y + 1) != id;
      if (!edge) continue;
      uint8_t* p = &(*rgba)[(size_t(y) * size_t(w) + size_t(x)) * 4];
      p[0] = r;
      p[1] = g;
      p[2] = b;
      p[3] = 255;
    }
  }
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

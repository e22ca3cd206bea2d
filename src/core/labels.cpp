#include "core/labels.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace celldrop {

ObjectIndex index_objects(const Labels& labels) {
  ObjectIndex index;
  const size_t n = labels.data.size();
  const uint32_t* lab = labels.data.data();
  index.pixel_index.assign(n, -1);
  uint32_t max_id = 0;
  for (size_t p = 0; p < n; ++p) max_id = std::max(max_id, lab[p]);
  if (max_id == 0) return index;

  // Sequential-ish ids (the common case) use a lookup table; a file with huge sparse ids would make
  // that table unbounded, so those go through a hash map, touched once per run of equal pixels.
  if (size_t(max_id) <= 4 * n + 65536) {
    std::vector<int32_t> table(size_t(max_id) + 1, -1);
    for (size_t p = 0; p < n; ++p) table[lab[p]] = 0;
    for (uint32_t id = 1; id <= max_id; ++id) {
      if (table[id] == 0) {
        table[id] = int32_t(index.ids.size());
        index.ids.push_back(id);
      }
    }
    for (size_t p = 0; p < n; ++p) index.pixel_index[p] = lab[p] ? table[lab[p]] : -1;
    return index;
  }

  std::unordered_map<uint32_t, int32_t> table;
  uint32_t last = 0;
  for (size_t p = 0; p < n; ++p) {
    if (lab[p] != 0 && lab[p] != last) {
      table.emplace(lab[p], 0);
      last = lab[p];
    }
  }
  index.ids.reserve(table.size());
  for (const auto& kv : table) index.ids.push_back(kv.first);
  std::sort(index.ids.begin(), index.ids.end());
  for (size_t i = 0; i < index.ids.size(); ++i) table[index.ids[i]] = int32_t(i);
  last = 0;
  int32_t last_index = -1;
  for (size_t p = 0; p < n; ++p) {
    if (lab[p] == 0) continue;
    if (lab[p] != last) {
      last = lab[p];
      last_index = table[last];
    }
    index.pixel_index[p] = last_index;
  }
  return index;
}

int relabel_sequential(Labels& labels) { return remove_small_objects(labels, 1); }

int remove_small_objects(Labels& labels, int min_pixels) {
  const size_t n = labels.data.size();
  uint32_t* lab = labels.data.data();
  uint32_t max_id = 0;
  for (size_t p = 0; p < n; ++p) max_id = std::max(max_id, lab[p]);
  min_pixels = std::max(min_pixels, 1);  // an id absent from the image gets no number

  // Ids up to about the pixel count (every label image the pipeline makes, and most files): one
  // table over the ids holds each object's area, then its new id, so no per-pixel index is needed
  // (at 4096^2 that index would be 64 MB beside the labels) and the table is at most its size.
  if (size_t(max_id) <= n + 65536) {
    std::vector<uint32_t> table(size_t(max_id) + 1, 0);
    for (size_t p = 0; p < n; ++p) ++table[lab[p]];
    uint32_t next = 0;
    table[0] = 0;
    for (size_t id = 1; id <= max_id; ++id) table[id] = table[id] >= uint32_t(min_pixels) ? ++next : 0;
    for (size_t p = 0; p < n; ++p) lab[p] = table[lab[p]];
    return int(next);
  }

  ObjectIndex index = index_objects(labels);
  std::vector<uint32_t> table(index.ids.size(), 0);
  for (int32_t i : index.pixel_index)
    if (i >= 0) ++table[size_t(i)];
  uint32_t next = 0;
  for (uint32_t& t : table) t = t >= uint32_t(min_pixels) ? ++next : 0;
  for (size_t p = 0; p < n; ++p) {
    const int32_t i = index.pixel_index[p];
    lab[p] = i < 0 ? 0u : table[size_t(i)];
  }
  return int(next);
}

int clear_border_objects(Labels& labels) {
  const int w = labels.width, h = labels.height;
  if (w <= 0 || h <= 0) return 0;
  uint32_t* lab = labels.data.data();
  // The border holds at most 2(w + h) pixels, so its ids make a short sorted list; the sweep looks
  // up only foreground pixels, and runs of one id once.
  std::vector<uint32_t> cut;
  auto take = [&](size_t p) {
    if (lab[p] != 0) cut.push_back(lab[p]);
  };
  for (int x = 0; x < w; ++x) {
    take(size_t(x));
    take(size_t(h - 1) * size_t(w) + size_t(x));
  }
  for (int y = 0; y < h; ++y) {
    take(size_t(y) * size_t(w));
    take(size_t(y) * size_t(w) + size_t(w - 1));
  }
  std::sort(cut.begin(), cut.end());
  cut.erase(std::unique(cut.begin(), cut.end()), cut.end());
  if (cut.empty()) return 0;
  uint32_t last = 0;
  bool last_cut = false;
  for (size_t p = 0, n = labels.data.size(); p < n; ++p) {
    if (lab[p] == 0) continue;
    if (lab[p] != last) {
      last = lab[p];
      last_cut = std::binary_search(cut.begin(), cut.end(), last);
    }
    if (last_cut) lab[p] = 0;
  }
  return int(cut.size());
}

long long fill_holes(Labels& labels) {
  const int w = labels.width, h = labels.height;
  uint32_t* lab = labels.data.data();
  std::vector<uint8_t> visited(size_t(w) * size_t(h), 0);
  std::vector<size_t> stack;
  long long filled = 0;
  for (size_t start = 0; start < visited.size(); ++start) {
    if (lab[start] != 0 || visited[start]) continue;
    // Flood one 4-connected background region, noting whether it reaches the border and which
    // objects surround it. Nothing else is kept of it: the region around the objects is most of the
    // image, and holes are rare and small, so a hole is flooded a second time to be filled. Each
    // region is visited once (twice for a hole), so the whole loop is linear.
    stack.assign(1, start);
    visited[start] = 1;
    bool touches_border = false, several_neighbours = false;
    uint32_t neighbour = 0;
    auto look = [&](size_t q) {
      if (lab[q] == 0) {
        if (!visited[q]) {
          visited[q] = 1;
          stack.push_back(q);
        }
      } else if (neighbour == 0) {
        neighbour = lab[q];
      } else if (lab[q] != neighbour) {
        several_neighbours = true;
      }
    };
    auto flood = [&](auto&& visit) {
      while (!stack.empty()) {
        size_t p = stack.back();
        stack.pop_back();
        int x = int(p % size_t(w)), y = int(p / size_t(w));
        if (x == 0 || y == 0 || x == w - 1 || y == h - 1) touches_border = true;
        if (x > 0) visit(p - 1);
        if (x < w - 1) visit(p + 1);
        if (y > 0) visit(p - size_t(w));
        if (y < h - 1) visit(p + size_t(w));
      }
    };
    flood(look);
    if (touches_border || several_neighbours || neighbour == 0) continue;
    // The hole's pixels are still 0 and now become the object: the label marks them as done.
    lab[start] = neighbour;
    ++filled;
    stack.assign(1, start);
    flood([&](size_t q) {
      if (lab[q] == 0) {
        lab[q] = neighbour;
        ++filled;
        stack.push_back(q);
      }
    });
  }
  return filled;
}

bool remove_object(Labels& labels, uint32_t id, EditedObject* removed) {
  EditedObject r;
  r.id = id;
  if (id != 0) {
    for (size_t i = 0; i < labels.data.size(); ++i) {
      if (labels.data[i] == id) r.pixels.push_back(i);
    }
  }
  if (r.pixels.empty()) return false;
  for (size_t i : r.pixels) labels.data[i] = 0;
  *removed = std::move(r);
  return true;
}

bool draw_object(Labels& labels, const std::vector<Point2>& outline, uint32_t id, EditedObject* drawn) {
  const int w = labels.width, h = labels.height;
  if (id == 0 || outline.size() < 3 || w <= 0 || h <= 0) return false;
  for (uint32_t v : labels.data) {
    if (v == id) return false;
  }
  // Fill into a scratch image over the outline's bounding box only: a nucleus is small, the image may not be.
  double x0 = outline[0].x, x1 = x0, y0 = outline[0].y, y1 = y0;
  for (const Point2& p : outline) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) return false;
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  const int bx0 = std::max(0, int(std::floor(x0))), bx1 = std::min(w - 1, int(std::ceil(x1)));
  const int by0 = std::max(0, int(std::floor(y0))), by1 = std::min(h - 1, int(std::ceil(y1)));
  if (bx0 > bx1 || by0 > by1) return false;
  Labels box;
  box.width = bx1 - bx0 + 1;
  box.height = by1 - by0 + 1;
  box.data.assign(size_t(box.width) * size_t(box.height), 0);
  std::vector<Point2> shifted(outline);
  for (Point2& p : shifted) p.x -= bx0, p.y -= by0;
  fill_polygon(shifted.data(), int(shifted.size()), box, 1, false);
  auto at = [&](int x, int y) { return size_t(by0 + y) * size_t(w) + size_t(bx0 + x); };
  for (int y = 0; y < box.height; ++y) {
    for (int x = 0; x < box.width; ++x) {
      uint32_t& b = box.data[size_t(y) * size_t(box.width) + size_t(x)];
      if (b && labels.data[at(x, y)] != 0) b = 0;  // another object's pixel: kept
    }
  }
  // The largest 4-connected piece of what is left; pieces are numbered 2, 3, ... in the scratch image.
  uint32_t best = 0, piece = 1;
  size_t best_size = 0;
  std::vector<size_t> stack;
  for (size_t start = 0; start < box.data.size(); ++start) {
    if (box.data[start] != 1) continue;
    ++piece;
    size_t size = 0;
    box.data[start] = piece;
    stack.assign(1, start);
    while (!stack.empty()) {
      const size_t i = stack.back();
      stack.pop_back();
      ++size;
      const int x = int(i % size_t(box.width)), y = int(i / size_t(box.width));
      const size_t next[4] = {x > 0 ? i - 1 : i, x + 1 < box.width ? i + 1 : i, y > 0 ? i - size_t(box.width) : i,
                              y + 1 < box.height ? i + size_t(box.width) : i};
      for (size_t n : next) {
        if (box.data[n] == 1) {
          box.data[n] = piece;
          stack.push_back(n);
        }
      }
    }
    if (size > best_size) best = piece, best_size = size;
  }
  if (best_size == 0) return false;
  EditedObject d;
  d.id = id;
  for (int y = 0; y < box.height; ++y) {
    for (int x = 0; x < box.width; ++x) {
      if (box.data[size_t(y) * size_t(box.width) + size_t(x)] == best) d.pixels.push_back(at(x, y));
    }
  }
  for (size_t i : d.pixels) labels.data[i] = id;
  *drawn = std::move(d);
  return true;
}

bool apply_hand_edit(Labels& labels, const HandEdit& edit, EditedObject* changed) {
  return edit.outline.empty() ? remove_object(labels, edit.id, changed)
                              : draw_object(labels, edit.outline, edit.id, changed);
}

void undo_hand_edit(Labels& labels, const HandEdit& edit, const EditedObject& changed) {
  const uint32_t value = edit.outline.empty() ? changed.id : 0;  // a removed object comes back, a drawn one goes
  for (size_t i : changed.pixels) {
    if (i < labels.data.size()) labels.data[i] = value;
  }
}

std::vector<uint8_t> outlines(const Labels& labels) {
  const int w = labels.width, h = labels.height;
  std::vector<uint8_t> mask(size_t(w) * size_t(h), 0);
  for (int y = 0; y < h; ++y) {
    const uint32_t* row = labels.data.data() + size_t(y) * size_t(w);
    for (int x = 0; x < w; ++x) {
      uint32_t v = row[x];
      if (v == 0) continue;
      bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || row[x - 1] != v ||
                  row[x + 1] != v || row[x - w] != v || row[x + w] != v;
      mask[size_t(y) * size_t(w) + size_t(x)] = edge ? 1 : 0;
    }
  }
  return mask;
}

}  // namespace celldrop

// Boundary tracing on pixel corners; see contours.h for the conventions.
#include "core/contours.h"

#include <algorithm>

#include "core/labels.h"

namespace celldrop {

namespace {

struct Box {
  int x0, y0, x1, y1;
};

// Traces the boundary of a 4-connected, hole-free pixel set in `grid` (pw x ph, 1 = inside, with an
// empty ring around it). Walking with the inside on the right-hand side (on screen, y down): at each
// corner, the two pixels ahead decide between turning left, going straight and turning right.
// Without holes and pinches (see below) every corner has one way on, so the walk is a simple ring.
std::vector<CornerPoint> trace_ring(const std::vector<uint8_t>& grid, int pw, int start_x, int start_y) {
  auto inside = [&](int x, int y) { return grid[size_t(y) * size_t(pw) + size_t(x)] != 0; };
  std::vector<CornerPoint> ring;
  // Start at the top-left corner of the first inside pixel in raster order, heading right along
  // its top edge (the pixel above and the pixel to its left are outside, so this is a corner).
  int vx = start_x, vy = start_y, dx = 1, dy = 0;
  ring.push_back({vx, vy});
  for (;;) {
    vx += dx;
    vy += dy;
    if (vx == start_x && vy == start_y) break;
    const int rx = -dy, ry = dx;  // the right-hand direction on screen
    // Pixel indices of the squares ahead-left and ahead-right of corner (vx, vy).
    const int alx = vx + (dx - rx - 1) / 2, aly = vy + (dy - ry - 1) / 2;
    const int arx = vx + (dx + rx - 1) / 2, ary = vy + (dy + ry - 1) / 2;
    int ndx, ndy;
    if (inside(alx, aly)) {
      ndx = dy;  // turn left
      ndy = -dx;
    } else if (inside(arx, ary)) {
      ndx = dx;
      ndy = dy;
    } else {
      ndx = rx;
      ndy = ry;
    }
    if (ndx != dx || ndy != dy) ring.push_back({vx, vy});
    dx = ndx;
    dy = ndy;
  }
  return ring;
}

}  // namespace

double signed_area(const std::vector<CornerPoint>& ring) {
  double twice = 0;
  for (size_t i = 0; i < ring.size(); ++i) {
    const CornerPoint& a = ring[i];
    const CornerPoint& b = ring[(i + 1) % ring.size()];
    twice += double(a.x) * double(b.y) - double(b.x) * double(a.y);
  }
  return twice / 2;
}

std::vector<Contour> trace_contours(const Labels& labels) {
  const ObjectIndex index = index_objects(labels);
  const int n = index.count();
  std::vector<Box> boxes(size_t(n), Box{labels.width, labels.height, -1, -1});
  for (int y = 0; y < labels.height; ++y)
    for (int x = 0; x < labels.width; ++x) {
      const int32_t k = index.pixel_index[size_t(y) * size_t(labels.width) + size_t(x)];
      if (k < 0) continue;
      Box& b = boxes[size_t(k)];
      b.x0 = std::min(b.x0, x);
      b.y0 = std::min(b.y0, y);
      b.x1 = std::max(b.x1, x);
      b.y1 = std::max(b.y1, y);
    }

  std::vector<Contour> contours(static_cast<size_t>(n));
  std::vector<int32_t> piece;   // per local pixel: piece number + 1, 0 = not in the object
  std::vector<uint8_t> grid;
  std::vector<int> stack;
  std::vector<long long> piece_area;
  for (int k = 0; k < n; ++k) {
    const Box& b = boxes[size_t(k)];
    const int pw = b.x1 - b.x0 + 3, ph = b.y1 - b.y0 + 3;  // one empty pixel around the box
    const size_t size = size_t(pw) * size_t(ph);
    auto in_object = [&](int px, int py) {
      if (px < 1 || py < 1 || px > pw - 2 || py > ph - 2) return false;
      return index.pixel_index[size_t(py - 1 + b.y0) * size_t(labels.width) + size_t(px - 1 + b.x0)] == k;
    };
    // 1. The object's 4-connected pieces; keep the largest.
    piece.assign(size, 0);
    piece_area.clear();
    for (int py = 1; py < ph - 1; ++py)
      for (int px = 1; px < pw - 1; ++px) {
        const int i = py * pw + px;
        if (piece[size_t(i)] || !in_object(px, py)) continue;
        const int id = int(piece_area.size()) + 1;
        long long area = 0;
        piece[size_t(i)] = id;
        stack.assign(1, i);
        while (!stack.empty()) {
          const int j = stack.back();
          stack.pop_back();
          ++area;
          const int jx = j % pw, jy = j / pw;
          const int nx[4] = {jx - 1, jx + 1, jx, jx}, ny[4] = {jy, jy, jy - 1, jy + 1};
          for (int t = 0; t < 4; ++t) {
            const int m = ny[t] * pw + nx[t];
            if (piece[size_t(m)] || !in_object(nx[t], ny[t])) continue;
            piece[size_t(m)] = id;
            stack.push_back(m);
          }
        }
        piece_area.push_back(area);
      }
    const int largest = int(std::max_element(piece_area.begin(), piece_area.end()) - piece_area.begin()) + 1;

    // 2. Everything the outside cannot reach (4-connected) belongs to the polygon: this fills the
    //    holes, and also the pixels that touch the outside only at a corner, which would otherwise
    //    pinch the outline into a figure eight (a ring that touches itself is not a valid polygon).
    grid.assign(size, 2);  // 2 = not reached from outside yet
    for (size_t i = 0; i < size; ++i)
      if (piece[i] == largest) grid[i] = 1;
    grid[0] = 0;
    stack.assign(1, 0);
    while (!stack.empty()) {
      const int j = stack.back();
      stack.pop_back();
      const int jx = j % pw, jy = j / pw;
      const int nx[4] = {jx - 1, jx + 1, jx, jx}, ny[4] = {jy, jy, jy - 1, jy + 1};
      for (int t = 0; t < 4; ++t) {
        if (nx[t] < 0 || ny[t] < 0 || nx[t] >= pw || ny[t] >= ph) continue;
        const int m = ny[t] * pw + nx[t];
        if (grid[size_t(m)] != 2) continue;
        grid[size_t(m)] = 0;
        stack.push_back(m);
      }
    }
    long long filled = 0;
    int start = -1;
    for (size_t i = 0; i < size; ++i)
      if (grid[i]) {
        grid[i] = 1;
        ++filled;
        if (start < 0) start = int(i);
      }

    // 3. Trace, then move to image coordinates.
    Contour& c = contours[size_t(k)];
    c.label = index.ids[size_t(k)];
    c.pieces = int(piece_area.size());
    c.piece_area = filled;
    c.points = trace_ring(grid, pw, start % pw, start / pw);
    for (CornerPoint& p : c.points) {
      p.x += b.x0 - 1;
      p.y += b.y0 - 1;
    }
  }
  return contours;
}

}  // namespace celldrop

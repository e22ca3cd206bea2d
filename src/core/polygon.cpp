#include "core/polygon.h"

#include <algorithm>
#include <cmath>

namespace celldrop {

double polygon_area(const Point2* pts, int n) {
  double twice = 0.0;
  for (int i = 0, j = n - 1; i < n; j = i++) twice += (pts[j].x - pts[i].x) * (pts[j].y + pts[i].y);
  return std::fabs(twice) * 0.5;
}

void prepare_polygon(const Point2* pts, int n, PreparedPolygon* out) {
  out->edges.clear();
  out->area = polygon_area(pts, n);
  if (n <= 0) {
    out->min_x = out->min_y = out->max_x = out->max_y = 0;
    return;
  }
  out->min_x = out->max_x = pts[0].x;
  out->min_y = out->max_y = pts[0].y;
  for (int i = 0; i < n; ++i) {
    const Point2& p = pts[i];
    const Point2& q = pts[(i + 1) % n];
    out->min_x = std::min(out->min_x, p.x);
    out->max_x = std::max(out->max_x, p.x);
    out->min_y = std::min(out->min_y, p.y);
    out->max_y = std::max(out->max_y, p.y);
    if (p.x == q.x) continue;  // a vertical edge has nothing under it
    if (p.x < q.x)
      out->edges.push_back({p.x, q.x, p.y, q.y, -1.0});
    else
      out->edges.push_back({q.x, p.x, q.y, p.y, +1.0});
  }
  std::sort(out->edges.begin(), out->edges.end(),
            [](const PreparedPolygon::Edge& a, const PreparedPolygon::Edge& b) { return a.x0 < b.x0; });
}

namespace {

// Integral over [lo, hi] of min(e(x), f(x)) - base, for two edges whose x-ranges contain [lo, hi].
inline double area_under_lower(const PreparedPolygon::Edge& e, const PreparedPolygon::Edge& f,
                               double lo, double hi, double base) {
  const double se = (e.y1 - e.y0) / (e.x1 - e.x0), sf = (f.y1 - f.y0) / (f.x1 - f.x0);
  const double el = e.y0 + se * (lo - e.x0), eh = e.y0 + se * (hi - e.x0);
  const double fl = f.y0 + sf * (lo - f.x0), fh = f.y0 + sf * (hi - f.x0);
  const double dl = el - fl, dh = eh - fh;
  const double ml = std::min(el, fl) - base, mh = std::min(eh, fh) - base;
  if ((dl <= 0 && dh <= 0) || (dl >= 0 && dh >= 0)) return 0.5 * (hi - lo) * (ml + mh);
  // The edges cross inside: the lower one changes at xc, where both have height yc.
  const double xc = lo + (hi - lo) * dl / (dl - dh);
  const double yc = el + se * (xc - lo) - base;
  return 0.5 * (xc - lo) * (ml + yc) + 0.5 * (hi - xc) * (yc + mh);
}

}  // namespace

double intersection_area(const PreparedPolygon& a, const PreparedPolygon& b) {
  if (a.edges.empty() || b.edges.empty()) return 0.0;
  if (a.max_x <= b.min_x || b.max_x <= a.min_x || a.max_y <= b.min_y || b.max_y <= a.min_y) return 0.0;
  // A baseline under both polygons keeps the summed terms small (the baseline's own contribution
  // cancels exactly, since each polygon crosses every vertical line as often leftwards as rightwards).
  const double base = std::min(a.min_y, b.min_y);
  double sum = 0.0;
  for (const auto& e : a.edges) {
    for (const auto& f : b.edges) {
      if (f.x0 >= e.x1) break;  // b's edges are sorted by x0: the rest start further right
      if (f.x1 <= e.x0) continue;
      const double lo = std::max(e.x0, f.x0), hi = std::min(e.x1, f.x1);
      sum += e.sign * f.sign * area_under_lower(e, f, lo, hi, base);
    }
  }
  // Both orientations give the same magnitude; rounding may leave a tiny negative for disjoint pairs.
  return std::min(std::fabs(sum), std::min(a.area, b.area));
}

double polygon_intersection_area(const Point2* a, int na, const Point2* b, int nb) {
  PreparedPolygon pa, pb;
  prepare_polygon(a, na, &pa);
  prepare_polygon(b, nb, &pb);
  return intersection_area(pa, pb);
}

long long fill_polygon(const Point2* pts, int n, Labels& labels, uint32_t value, bool only_background) {
  if (n < 3 || labels.width <= 0 || labels.height <= 0) return 0;
  double min_y = pts[0].y, max_y = pts[0].y;
  for (int i = 1; i < n; ++i) {
    min_y = std::min(min_y, pts[i].y);
    max_y = std::max(max_y, pts[i].y);
  }
  // Row r meets an edge when min(y0, y1) <= r < max(y0, y1): half-open, so a vertex on a row is
  // counted once, and a pixel centre on a bottom edge belongs to the polygon below, not this one.
  const double row_lo = std::max(std::ceil(min_y), 0.0);
  const double row_hi = std::min(std::ceil(max_y) - 1.0, double(labels.height - 1));
  if (!(row_lo <= row_hi)) return 0;
  const int r0 = int(row_lo), r1 = int(row_hi), rows = r1 - r0 + 1;
  // Each edge crosses a row at most once, so a row has at most n crossings.
  std::vector<double> xs(size_t(rows) * size_t(n));
  std::vector<int> count(size_t(rows), 0);
  for (int i = 0; i < n; ++i) {
    const Point2& p = pts[i];
    const Point2& q = pts[(i + 1) % n];
    if (p.y == q.y) continue;
    const double lo = std::min(p.y, q.y), hi = std::max(p.y, q.y);
    const int a = std::max(int(std::max(std::ceil(lo), row_lo)), r0);
    const int b = std::min(int(std::min(std::ceil(hi) - 1.0, row_hi)), r1);
    const double inv = (q.x - p.x) / (q.y - p.y);
    for (int r = a; r <= b; ++r) {
      size_t k = size_t(r - r0);
      xs[k * size_t(n) + size_t(count[k]++)] = p.x + (double(r) - p.y) * inv;
    }
  }
  long long written = 0;
  const int w = labels.width;
  for (int k = 0; k < rows; ++k) {
    double* row = xs.data() + size_t(k) * size_t(n);
    const int c = count[size_t(k)];
    for (int i = 1; i < c; ++i) {  // insertion sort: rows of star shapes have 2 to 4 crossings
      double v = row[i];
      int j = i - 1;
      while (j >= 0 && row[j] > v) {
        row[j + 1] = row[j];
        --j;
      }
      row[j + 1] = v;
    }
    uint32_t* out = labels.data.data() + size_t(r0 + k) * size_t(w);
    for (int i = 0; i + 1 < c; i += 2) {
      // Pixel x is inside when row[i] <= x < row[i + 1].
      const double xa = std::max(std::ceil(row[i]), 0.0);
      const double xb = std::min(std::ceil(row[i + 1]) - 1.0, double(w - 1));
      if (!(xa <= xb)) continue;
      for (int x = int(xa), xe = int(xb); x <= xe; ++x) {
        if (only_background && out[x] != 0) continue;
        out[x] = value;
        ++written;
      }
    }
  }
  return written;
}

}  // namespace celldrop

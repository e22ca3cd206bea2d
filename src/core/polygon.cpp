#include "core/polygon.h"

#include <algorithm>
#include <cmath>
#include <utility>

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
      out->edges.push_back({p.x, q.x, p.y, q.y, (q.y - p.y) / (q.x - p.x), -1.0});
    else
      out->edges.push_back({q.x, p.x, q.y, p.y, (p.y - q.y) / (p.x - q.x), +1.0});
  }
  // Insertion sort: a few dozen edges, and star polygons come partly ordered already.
  auto& e = out->edges;
  for (size_t i = 1; i < e.size(); ++i) {
    PreparedPolygon::Edge v = e[i];
    size_t j = i;
    for (; j > 0 && e[j - 1].x0 > v.x0; --j) e[j] = e[j - 1];
    e[j] = v;
  }
}

namespace {

// Signed area under min(e, f) - base over the overlap of the x-ranges of e and f, where f starts
// no later than e (f.x0 <= e.x0) and ends after e starts (f.x1 > e.x0).
inline double pair_term(const PreparedPolygon::Edge& e, const PreparedPolygon::Edge& f, double base) {
  const double lo = e.x0, hi = std::min(e.x1, f.x1);
  const double el = e.y0, eh = e.y0 + e.slope * (hi - e.x0);
  const double fl = f.y0 + f.slope * (lo - f.x0), fh = f.y0 + f.slope * (hi - f.x0);
  const double dl = el - fl, dh = eh - fh;
  const double ml = std::min(el, fl) - base, mh = std::min(eh, fh) - base;
  double area;
  if ((dl <= 0 && dh <= 0) || (dl >= 0 && dh >= 0)) {
    area = 0.5 * (hi - lo) * (ml + mh);
  } else {
    // The edges cross inside: the lower one changes at xc, where both have height yc.
    const double xc = lo + (hi - lo) * dl / (dl - dh);
    const double yc = el + e.slope * (xc - lo) - base;
    area = 0.5 * (xc - lo) * (ml + yc) + 0.5 * (hi - xc) * (yc + mh);
  }
  return e.sign * f.sign * area;
}

}  // namespace

double intersection_area(const PreparedPolygon& a, const PreparedPolygon& b) {
  if (a.edges.empty() || b.edges.empty()) return 0.0;
  if (a.max_x <= b.min_x || b.max_x <= a.min_x || a.max_y <= b.min_y || b.max_y <= a.min_y) return 0.0;
  // A baseline under both polygons keeps the summed terms small (the baseline's own contribution
  // cancels exactly, since each polygon crosses every vertical line as often leftwards as rightwards).
  const double base = std::min(a.min_y, b.min_y);
  // Sweep both edge lists in order of their left ends. Each edge, when it starts, meets the other
  // polygon's edges that started before it and have not ended yet (the "active" ones), so every pair
  // with overlapping x-ranges is summed exactly once.
  constexpr int kMaxActive = 64;  // star shapes have 2-6 edges over any x; larger ones spill
  const PreparedPolygon::Edge* active[2][kMaxActive];
  int n_active[2] = {0, 0};
  std::vector<const PreparedPolygon::Edge*> spill[2];
  bool spilled[2] = {false, false};
  const std::vector<PreparedPolygon::Edge>* lists[2] = {&a.edges, &b.edges};
  size_t next[2] = {0, 0};
  double sum = 0.0;
  while (next[0] < a.edges.size() || next[1] < b.edges.size()) {
    int side;
    if (next[0] == a.edges.size())
      side = 1;
    else if (next[1] == b.edges.size())
      side = 0;
    else
      side = (*lists[0])[next[0]].x0 <= (*lists[1])[next[1]].x0 ? 0 : 1;
    const PreparedPolygon::Edge& e = (*lists[side])[next[side]++];
    const int other = 1 - side;
    if (!spilled[other]) {
      int kept = 0;
      for (int i = 0; i < n_active[other]; ++i) {
        const PreparedPolygon::Edge* f = active[other][i];
        if (f->x1 <= e.x0) continue;  // ended before e starts: never needed again
        active[other][kept++] = f;
        sum += pair_term(e, *f, base);
      }
      n_active[other] = kept;
    } else {
      size_t kept = 0;
      for (const PreparedPolygon::Edge* f : spill[other]) {
        if (f->x1 <= e.x0) continue;
        spill[other][kept++] = f;
        sum += pair_term(e, *f, base);
      }
      spill[other].resize(kept);
    }
    if (!spilled[side] && n_active[side] < kMaxActive) {
      active[side][n_active[side]++] = &e;
    } else {
      if (!spilled[side]) spill[side].assign(active[side], active[side] + n_active[side]);
      spilled[side] = true;
      spill[side].push_back(&e);
    }
  }
  // Both orientations give the same magnitude; rounding may leave a tiny negative for disjoint pairs.
  return std::min(std::fabs(sum), std::min(a.area, b.area));
}

namespace {

inline double cross(double ax, double ay, double bx, double by) { return ax * by - ay * bx; }

// True when the polygon, in coordinates relative to o, is strictly star-shaped about o: every edge
// turns by a positive angle (with a margin against near-collinear edges through o), and the
// polygon winds around o once (counted by crossings of the +x axis).
bool strictly_star_about(const Point2* p, int n, Point2 o) {
  if (n < 3) return false;
  int windings = 0;
  for (int i = 0; i < n; ++i) {
    const Point2& u = p[i];
    const Point2& v = p[i + 1 == n ? 0 : i + 1];
    const double ux = u.x - o.x, uy = u.y - o.y, vx = v.x - o.x, vy = v.y - o.y;
    if (!(cross(ux, uy, vx, vy) > 1e-9 * (ux * ux + uy * uy + vx * vx + vy * vy))) return false;
    if (uy < 0 && vy >= 0) ++windings;
  }
  return windings == 1;
}

// Where the ray from the origin along (dx, dy) meets the line through p0 and p1 (relative coords).
inline Point2 ray_hit(double p0x, double p0y, double p1x, double p1y, double dx, double dy) {
  const double ex = p1x - p0x, ey = p1y - p0y;
  const double s = cross(p0x, p0y, ex, ey) / cross(dx, dy, ex, ey);
  return {dx * s, dy * s};
}

// Area, seen from the origin, of the sector between two rays bounded by the nearer of two
// boundaries: k0 -> k1 on one polygon's edge, c0 -> c1 on the other's (k0, c0 on the first ray,
// k1, c1 on the second).
inline double sector_area(Point2 k0, Point2 c0, Point2 k1, Point2 c1) {
  const double dk0 = k0.x * k0.x + k0.y * k0.y, dc0 = c0.x * c0.x + c0.y * c0.y;
  const double dk1 = k1.x * k1.x + k1.y * k1.y, dc1 = c1.x * c1.x + c1.y * c1.y;
  if (dk0 <= dc0 && dk1 <= dc1) return 0.5 * cross(k0.x, k0.y, k1.x, k1.y);
  if (dk0 >= dc0 && dk1 >= dc1) return 0.5 * cross(c0.x, c0.y, c1.x, c1.y);
  // The boundaries cross inside the sector: the nearer one changes at x.
  const double ex = k1.x - k0.x, ey = k1.y - k0.y, fx = c1.x - c0.x, fy = c1.y - c0.y;
  const double den = cross(ex, ey, fx, fy);
  double t = den != 0 ? cross(c0.x - k0.x, c0.y - k0.y, fx, fy) / den : 0.5;
  t = std::min(std::max(t, 0.0), 1.0);
  const Point2 x{k0.x + t * ex, k0.y + t * ey};
  const Point2 near0 = dk0 <= dc0 ? k0 : c0, near1 = dk1 <= dc1 ? k1 : c1;
  return 0.5 * cross(near0.x, near0.y, x.x, x.y) + 0.5 * cross(x.x, x.y, near1.x, near1.y);
}

}  // namespace

bool is_strictly_star_about(const Point2* p, int n, Point2 o) { return strictly_star_about(p, n, o); }

bool star_intersection_area(const Point2* a, int na, const Point2* b, int nb, Point2 o, double* area,
                            double enough, bool b_checked) {
  if (!strictly_star_about(a, na, o) || (!b_checked && !strictly_star_about(b, nb, o))) return false;
  auto rel = [o](const Point2& p) { return Point2{p.x - o.x, p.y - o.y}; };
  // Walk around o once, starting at b's vertex 0, through the merged sequence of both polygons'
  // vertex directions. Each polygon's vertices are in angular order and every edge spans less than
  // pi, so the next direction of each lies less than pi ahead and one cross product orders them.
  const Point2 b0 = rel(b[0]);
  // a's edge j (a[j] -> a[j+1]) is the one the current ray crosses. Star polygons from rays at the
  // same angles have it near the end of the list, so the search starts there.
  int j = -1;
  for (int i = 0; i < na && j < 0; ++i) {
    const int e = (na - 1 + i) % na;
    const Point2 u = rel(a[e]), v = rel(a[(e + 1) % na]);
    if (cross(u.x, u.y, b0.x, b0.y) >= 0 && cross(b0.x, b0.y, v.x, v.y) > 0) j = e;
  }
  if (j < 0) return false;  // unreachable for star-shaped input; rounding guard
  Point2 ja = rel(a[j]), jb = rel(a[(j + 1) % na]);
  Point2 kp = b0, cp = ray_hit(ja.x, ja.y, jb.x, jb.y, b0.x, b0.y);
  double sum = 0.0;
  int steps = 0;
  for (int k = 0; k < nb;) {
    if (++steps > 2 * (na + nb) + 4) return false;  // rounding guard: never loop forever
    const Point2 kb = rel(b[k]), ke = rel(b[(k + 1) % nb]);
    const double order = cross(ke.x, ke.y, jb.x, jb.y);  // > 0: b's next vertex comes first
    Point2 kq, cq;
    if (order > 0) {
      kq = ke;
      cq = ray_hit(ja.x, ja.y, jb.x, jb.y, ke.x, ke.y);
    } else if (order < 0) {
      cq = jb;
      kq = ray_hit(kb.x, kb.y, ke.x, ke.y, jb.x, jb.y);
    } else {
      kq = ke;
      cq = jb;
    }
    sum += sector_area(kp, cp, kq, cq);
    if (sum > enough) break;
    kp = kq;
    cp = cq;
    if (order >= 0) ++k;
    if (order <= 0) {
      j = (j + 1) % na;
      ja = jb;
      jb = rel(a[(j + 1) % na]);
    }
  }
  *area = sum;
  return true;
}

double polygon_intersection_area(const Point2* a, int na, const Point2* b, int nb) {
  PreparedPolygon pa, pb;
  prepare_polygon(a, na, &pa);
  prepare_polygon(b, nb, &pb);
  return intersection_area(pa, pb);
}

std::vector<Point2> simplify_polyline(const std::vector<Point2>& points, double tolerance) {
  if (points.size() < 3) return points;
  std::vector<char> keep(points.size(), 0);
  keep.front() = keep.back() = 1;
  // An explicit stack of spans instead of recursion: a long trace must not exhaust the stack.
  std::vector<std::pair<size_t, size_t>> spans = {{0, points.size() - 1}};
  while (!spans.empty()) {
    const auto [a, b] = spans.back();
    spans.pop_back();
    const Point2 p = points[a], q = points[b];
    const double dx = q.x - p.x, dy = q.y - p.y, length = std::hypot(dx, dy);
    double worst = -1.0;
    size_t at = a;
    for (size_t i = a + 1; i < b; ++i) {
      const double ex = points[i].x - p.x, ey = points[i].y - p.y;
      // Distance to the chord, or to its start when the chord has no length (a closed trace).
      const double d = length > 0.0 ? std::fabs(dx * ey - dy * ex) / length : std::hypot(ex, ey);
      if (d > worst) worst = d, at = i;
    }
    if (worst > tolerance) {
      keep[at] = 1;
      spans.push_back({a, at});
      spans.push_back({at, b});
    }
  }
  std::vector<Point2> out;
  for (size_t i = 0; i < points.size(); ++i) {
    if (keep[i]) out.push_back(points[i]);
  }
  return out;
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

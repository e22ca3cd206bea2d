#include "core/polygon.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace celldrop {
namespace {

// Small deterministic generator so the random shapes are the same with every standard library.
struct TestRng {
  uint64_t s;
  double uniform() {  // [0, 1)
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return double(s >> 11) * (1.0 / 9007199254740992.0);
  }
  double range(double lo, double hi) { return lo + (hi - lo) * uniform(); }
};

// A random star-convex polygon around (cx, cy): radii that wobble with a few harmonics.
std::vector<Point2> random_star(TestRng& rng, double cx, double cy, double radius, int n) {
  double a2 = rng.range(0, 0.3), a3 = rng.range(0, 0.2), p2 = rng.range(0, 6.3), p3 = rng.range(0, 6.3);
  std::vector<Point2> pts;
  for (int k = 0; k < n; ++k) {
    double t = 6.283185307179586 * k / n;
    double r = radius * (1 + a2 * std::cos(2 * t + p2) + a3 * std::cos(3 * t + p3)) * rng.range(0.85, 1.0);
    pts.push_back({cx + r * std::cos(t), cy + r * std::sin(t)});
  }
  return pts;
}

bool inside(const std::vector<Point2>& poly, double x, double y) {  // even-odd crossing test
  bool in = false;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    const Point2 &a = poly[i], &b = poly[j];
    if ((a.y > y) != (b.y > y) && x < a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y)) in = !in;
  }
  return in;
}

// Sutherland-Hodgman: exact for a convex clip polygon (counter-clockwise in y-up terms, i.e. with
// positive signed shoelace sum as written below). Independent oracle for convex cases.
std::vector<Point2> clip_convex(std::vector<Point2> subject, const std::vector<Point2>& clip) {
  for (size_t i = 0; i < clip.size() && !subject.empty(); ++i) {
    Point2 a = clip[i], b = clip[(i + 1) % clip.size()];
    auto side = [&](Point2 p) { return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x); };
    std::vector<Point2> out;
    for (size_t j = 0; j < subject.size(); ++j) {
      Point2 p = subject[j], q = subject[(j + 1) % subject.size()];
      double sp = side(p), sq = side(q);
      if (sp >= 0) out.push_back(p);
      if ((sp >= 0) != (sq >= 0)) {
        double t = sp / (sp - sq);
        out.push_back({p.x + t * (q.x - p.x), p.y + t * (q.y - p.y)});
      }
    }
    subject = out;
  }
  return subject;
}

std::vector<Point2> regular(double cx, double cy, double r, int n, double phase) {
  std::vector<Point2> pts;
  for (int k = 0; k < n; ++k) {
    double t = phase + 6.283185307179586 * k / n;
    pts.push_back({cx + r * std::cos(t), cy + r * std::sin(t)});
  }
  return pts;
}

std::vector<Point2> box(double x0, double y0, double x1, double y1) {
  return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
}

double inter(const std::vector<Point2>& a, const std::vector<Point2>& b) {
  return polygon_intersection_area(a.data(), int(a.size()), b.data(), int(b.size()));
}

TEST(Polygon, AreaOfSimpleShapes) {
  auto sq = box(1, 2, 4, 6);
  EXPECT_DOUBLE_EQ(polygon_area(sq.data(), 4), 12.0);
  std::vector<Point2> reversed(sq.rbegin(), sq.rend());
  EXPECT_DOUBLE_EQ(polygon_area(reversed.data(), 4), 12.0);
  std::vector<Point2> tri{{0, 0}, {4, 0}, {0, 3}};
  EXPECT_DOUBLE_EQ(polygon_area(tri.data(), 3), 6.0);
  // An L shape (not convex): 3x3 minus 2x2.
  std::vector<Point2> ell{{0, 0}, {3, 0}, {3, 1}, {1, 1}, {1, 3}, {0, 3}};
  EXPECT_DOUBLE_EQ(polygon_area(ell.data(), 6), 5.0);
}

TEST(Polygon, IntersectionOfBoxesIsExact) {
  EXPECT_NEAR(inter(box(0, 0, 4, 3), box(2, 1, 7, 9)), 4.0, 1e-12);
  EXPECT_NEAR(inter(box(0, 0, 4, 3), box(0, 0, 4, 3)), 12.0, 1e-12);    // identical: shared edges
  EXPECT_NEAR(inter(box(0, 0, 4, 3), box(4, 0, 8, 3)), 0.0, 1e-12);     // touching along an edge
  EXPECT_NEAR(inter(box(0, 0, 4, 3), box(5, 5, 8, 9)), 0.0, 1e-12);     // apart
  EXPECT_NEAR(inter(box(0, 0, 10, 10), box(2, 3, 5, 4)), 3.0, 1e-12);   // nested
  EXPECT_NEAR(inter(box(0, 0, 4, 3), box(0, 1, 4, 5)), 8.0, 1e-12);     // collinear sides overlap
  std::vector<Point2> rev = box(2, 1, 7, 9);
  std::reverse(rev.begin(), rev.end());
  EXPECT_NEAR(inter(box(0, 0, 4, 3), rev), 4.0, 1e-12);                 // orientation does not matter
}

TEST(Polygon, IntersectionOfNonConvexShapes) {
  // L shape (3x3 minus its upper-right 2x2) against boxes, by hand.
  std::vector<Point2> ell{{0, 0}, {3, 0}, {3, 1}, {1, 1}, {1, 3}, {0, 3}};
  EXPECT_NEAR(inter(ell, box(1, 1, 3, 3)), 0.0, 1e-12);  // exactly the notch
  EXPECT_NEAR(inter(ell, box(0.5, 0.5, 2, 2)), 0.5 * 1.5 + 0.5 * 1.0, 1e-12);
  EXPECT_NEAR(inter(ell, ell), 5.0, 1e-12);
  // Two combs whose teeth interleave.
  std::vector<Point2> comb{{0, 0}, {5, 0}, {5, 4}, {4, 4}, {4, 1}, {3, 1}, {3, 4}, {2, 4}, {2, 1}, {1, 1}, {1, 4}, {0, 4}};
  EXPECT_NEAR(polygon_area(comb.data(), 12), 5 + 3 * 3, 1e-12);
  EXPECT_NEAR(inter(comb, box(0, 2, 5, 3)), 3.0, 1e-12);
}

TEST(Polygon, IntersectionMatchesClippingOnConvexPairs) {
  TestRng rng{7};
  for (int trial = 0; trial < 200; ++trial) {
    auto a = regular(rng.range(0, 10), rng.range(0, 10), rng.range(2, 8), 3 + trial % 30, rng.range(0, 6));
    auto b = regular(rng.range(0, 10), rng.range(0, 10), rng.range(2, 8), 3 + trial % 17, rng.range(0, 6));
    auto clipped = clip_convex(a, b);
    double want = clipped.size() >= 3 ? polygon_area(clipped.data(), int(clipped.size())) : 0.0;
    EXPECT_NEAR(inter(a, b), want, 1e-9 * (1 + want)) << "trial " << trial;
  }
}

// Independent exact oracle by horizontal slabs: on each horizontal line the polygons are unions of
// intervals, and their common length is linear in y between the heights of vertices and of edge
// crossings, so summing (length at the slab's middle) x (slab height) over those slabs is exact.
std::vector<double> crossings(const std::vector<Point2>& poly, double y) {
  std::vector<double> xs;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    const Point2 &a = poly[i], &b = poly[j];
    if ((a.y > y) != (b.y > y)) xs.push_back(a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y));
  }
  std::sort(xs.begin(), xs.end());
  return xs;
}

double sliced_intersection(const std::vector<Point2>& a, const std::vector<Point2>& b) {
  std::vector<double> ys;
  for (const auto& p : a) ys.push_back(p.y);
  for (const auto& p : b) ys.push_back(p.y);
  for (size_t i = 0; i < a.size(); ++i) {
    Point2 p = a[i], q = a[(i + 1) % a.size()];
    for (size_t j = 0; j < b.size(); ++j) {
      Point2 r = b[j], s = b[(j + 1) % b.size()];
      double den = (q.x - p.x) * (s.y - r.y) - (q.y - p.y) * (s.x - r.x);
      if (den == 0) continue;
      double t = ((r.x - p.x) * (s.y - r.y) - (r.y - p.y) * (s.x - r.x)) / den;
      double u = ((r.x - p.x) * (q.y - p.y) - (r.y - p.y) * (q.x - p.x)) / den;
      if (t >= 0 && t <= 1 && u >= 0 && u <= 1) ys.push_back(p.y + t * (q.y - p.y));
    }
  }
  std::sort(ys.begin(), ys.end());
  double sum = 0.0;
  for (size_t i = 0; i + 1 < ys.size(); ++i) {
    double h = ys[i + 1] - ys[i];
    if (h <= 0) continue;
    auto ca = crossings(a, ys[i] + 0.5 * h), cb = crossings(b, ys[i] + 0.5 * h);
    for (size_t p = 0; p + 1 < ca.size(); p += 2)
      for (size_t q = 0; q + 1 < cb.size(); q += 2)
        sum += h * std::max(0.0, std::min(ca[p + 1], cb[q + 1]) - std::max(ca[p], cb[q]));
  }
  return sum;
}

TEST(Polygon, IntersectionMatchesSlicingOnStarConvexPairs) {
  TestRng rng{11};
  for (int trial = 0; trial < 300; ++trial) {
    auto a = random_star(rng, 20, 20, rng.range(5, 12), 32);
    auto b = random_star(rng, rng.range(12, 28), rng.range(12, 28), rng.range(5, 12), 32);
    double want = sliced_intersection(a, b);
    EXPECT_NEAR(inter(a, b), want, 1e-9 * (1 + want)) << "trial " << trial;
    EXPECT_NEAR(inter(a, a), polygon_area(a.data(), 32), 1e-9);
    // Symmetric in its arguments.
    EXPECT_NEAR(inter(a, b), inter(b, a), 1e-9);
  }
}

TEST(Polygon, StarShapedFastPathAgreesWithTheGeneralMethod) {
  TestRng rng{17};
  int used = 0;
  for (int trial = 0; trial < 400; ++trial) {
    // Pairs like NMS sees: the second centre near the first, sometimes far.
    const double spread = trial % 4 == 0 ? 12.0 : 3.0;
    const Point2 ca{20, 20}, cb{20 + rng.range(-spread, spread), 20 + rng.range(-spread, spread)};
    auto a = random_star(rng, ca.x, ca.y, rng.range(4, 10), 32);
    auto b = random_star(rng, cb.x, cb.y, rng.range(4, 10), 32);
    const double want = inter(a, b);
    for (Point2 o : {ca, cb}) {
      double got = -1;
      if (!star_intersection_area(a.data(), 32, b.data(), 32, o, &got)) continue;
      ++used;
      EXPECT_NEAR(got, want, 1e-9 * (1 + want)) << "trial " << trial;
      double swapped = -1;
      ASSERT_TRUE(star_intersection_area(b.data(), 32, a.data(), 32, o, &swapped));
      EXPECT_NEAR(swapped, want, 1e-9 * (1 + want)) << "trial " << trial;
      double prechecked = -1;
      ASSERT_TRUE(is_strictly_star_about(b.data(), 32, o));
      ASSERT_TRUE(star_intersection_area(a.data(), 32, b.data(), 32, o, &prechecked, HUGE_VAL, true));
      EXPECT_EQ(prechecked, got);
      // Asked only whether it exceeds half of it: may stop early, but never below that.
      double partial = -1;
      ASSERT_TRUE(star_intersection_area(a.data(), 32, b.data(), 32, o, &partial, 0.5 * want));
      if (want > 0) EXPECT_GT(partial, 0.5 * want);
      EXPECT_LE(partial, want + 1e-9);
    }
  }
  EXPECT_GT(used, 300);  // it is the common case, not a rarity
  // Different vertex counts, regular polygons sharing the centre: exact by the convex oracle.
  auto p = regular(0, 0, 5, 7, 0.3), q = regular(0.5, -0.2, 4, 12, 0.1);
  double got = 0;
  ASSERT_TRUE(star_intersection_area(p.data(), 7, q.data(), 12, {0.1, 0.0}, &got));
  auto clipped = clip_convex(p, q);
  EXPECT_NEAR(got, polygon_area(clipped.data(), int(clipped.size())), 1e-9);
  // Refused: o outside a polygon, or a polygon in the other orientation.
  EXPECT_FALSE(star_intersection_area(p.data(), 7, q.data(), 12, {4.9, 4.9}, &got));
  std::vector<Point2> reversed(p.rbegin(), p.rend());
  EXPECT_FALSE(star_intersection_area(reversed.data(), 7, q.data(), 12, {0, 0}, &got));
  // An L shape is not star-shaped about a point in its far arm.
  std::vector<Point2> ell{{0, 0}, {3, 0}, {3, 1}, {1, 1}, {1, 3}, {0, 3}};
  EXPECT_FALSE(star_intersection_area(ell.data(), 6, q.data(), 12, {2.8, 0.5}, &got));
}

TEST(Polygon, FillUsesPixelCentresWithHalfOpenEdges) {
  Labels l = make_labels(8, 6);
  // Corners on pixel centres: centres on the left/top edges are in, on the right/bottom edges out.
  auto b = box(1, 1, 4, 3);
  EXPECT_EQ(fill_polygon(b.data(), 4, l, 5, false), 6);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x)
      EXPECT_EQ(l.at(x, y), (x >= 1 && x < 4 && y >= 1 && y < 3) ? 5u : 0u) << x << "," << y;
  // A neighbour sharing the right edge takes the next column, no pixel twice.
  auto right = box(4, 1, 6, 3);
  EXPECT_EQ(fill_polygon(right.data(), 4, l, 6, true), 4);
  EXPECT_EQ(l.at(3, 1), 5u);
  EXPECT_EQ(l.at(4, 1), 6u);
  // only_background keeps what is there; overwriting replaces it.
  auto all = box(-10, -10, 20, 20);
  EXPECT_EQ(fill_polygon(all.data(), 4, l, 9, true), 48 - 10);
  EXPECT_EQ(l.at(1, 1), 5u);
  EXPECT_EQ(fill_polygon(all.data(), 4, l, 9, false), 48);  // clipped to the image
  EXPECT_EQ(l.at(1, 1), 9u);
}

TEST(Polygon, FillAgreesWithPointInPolygonOnRandomStars) {
  TestRng rng{3};
  for (int trial = 0; trial < 30; ++trial) {
    Labels l = make_labels(40, 40);
    auto p = random_star(rng, rng.range(5, 35), rng.range(5, 35), rng.range(3, 15), 32);
    long long n = fill_polygon(p.data(), 32, l, 1, false);
    long long count = 0;
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 40; ++x) {
        count += l.at(x, y);
        EXPECT_EQ(l.at(x, y), inside(p, x, y) ? 1u : 0u) << "trial " << trial << " at " << x << "," << y;
      }
    EXPECT_EQ(n, count);
  }
}

TEST(Polygon, SimplifyKeepsTheCornersOfATrace) {
  // A square traced pixel by pixel (a closed trace: it ends where it began), with a 0.4 px wobble.
  std::vector<Point2> trace;
  for (int i = 0; i <= 10; ++i) trace.push_back({double(i), i % 2 ? 0.4 : 0.0});
  for (int i = 1; i <= 10; ++i) trace.push_back({10.0, double(i)});
  for (int i = 9; i >= 0; --i) trace.push_back({double(i), 10.0});
  for (int i = 9; i >= 0; --i) trace.push_back({0.0, double(i)});
  const std::vector<Point2> simple = simplify_polyline(trace, 0.5);
  ASSERT_EQ(simple.size(), 5u);  // the four corners and the end, back at the start
  const double want[5][2] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(simple[size_t(i)].x, want[i][0]) << i;
    EXPECT_EQ(simple[size_t(i)].y, want[i][1]) << i;
  }
  // A tolerance below the wobble keeps it; two points stay as they are.
  EXPECT_GT(simplify_polyline(trace, 0.3).size(), 5u);
  EXPECT_EQ(simplify_polyline({{0, 0}, {5, 5}}, 1.0).size(), 2u);
}

}  // namespace
}  // namespace celldrop

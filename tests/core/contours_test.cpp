// Contours on pixel corners: exact areas, orientation, simplicity, pieces, holes and pinches.
#include "core/contours.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "core/synth.h"

namespace celldrop {
namespace {

Labels from_rows(const std::vector<std::string>& rows) {  // '.' background, '1'..'9' labels
  Labels l;
  l.height = int(rows.size());
  l.width = int(rows[0].size());
  l.data.assign(size_t(l.width) * size_t(l.height), 0);
  for (int y = 0; y < l.height; ++y)
    for (int x = 0; x < l.width; ++x) l.at(x, y) = rows[size_t(y)][size_t(x)] == '.' ? 0 : uint32_t(rows[size_t(y)][size_t(x)] - '0');
  return l;
}

// Even-odd test of a pixel centre against a ring of corner points.
bool centre_inside(const std::vector<CornerPoint>& ring, int px, int py) {
  const double x = px + 0.5, y = py + 0.5;
  bool in = false;
  for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const double xi = ring[i].x, yi = ring[i].y, xj = ring[j].x, yj = ring[j].y;
    if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) in = !in;
  }
  return in;
}

// Axis-parallel edges, every vertex a real corner, no vertex visited twice.
void expect_simple_rectilinear(const Contour& c) {
  const auto& r = c.points;
  ASSERT_GE(r.size(), 4u);
  std::set<std::pair<int, int>> seen;
  for (size_t i = 0; i < r.size(); ++i) {
    const CornerPoint& a = r[(i + r.size() - 1) % r.size()];
    const CornerPoint& b = r[i];
    const CornerPoint& n = r[(i + 1) % r.size()];
    EXPECT_TRUE((a.x == b.x) != (a.y == b.y)) << "label " << c.label << " vertex " << i;
    EXPECT_FALSE((a.x == b.x && b.x == n.x) || (a.y == b.y && b.y == n.y)) << "collinear at " << i;
    EXPECT_TRUE(seen.insert({b.x, b.y}).second) << "label " << c.label << " revisits " << b.x << "," << b.y;
  }
}

TEST(Contours, SinglePixelAndRectangle) {
  const Labels l = from_rows({
      ".....",
      ".1...",
      "...22",
      "...22",
      "...22",
  });
  const std::vector<Contour> c = trace_contours(l);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].label, 1u);
  ASSERT_EQ(c[0].points.size(), 4u);
  EXPECT_EQ(c[0].points[0].x, 1);
  EXPECT_EQ(c[0].points[0].y, 1);
  EXPECT_EQ(c[0].points[1].x, 2);  // heading right first: positive shoelace area
  EXPECT_EQ(c[0].points[1].y, 1);
  EXPECT_DOUBLE_EQ(signed_area(c[0].points), 1.0);
  ASSERT_EQ(c[1].points.size(), 4u);
  EXPECT_DOUBLE_EQ(signed_area(c[1].points), 6.0);
  EXPECT_EQ(c[1].points[2].x, 5);
  EXPECT_EQ(c[1].points[2].y, 5);
}

TEST(Contours, HolesAreFilledAndPinchesClosed) {
  const Labels l = from_rows({
      "........",
      ".111....",
      ".1.1....",
      ".111....",
      ".....333",
      "..333.33",
      "..3.3333",
      "..333...",
  });
  const std::vector<Contour> c = trace_contours(l);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_DOUBLE_EQ(signed_area(c[0].points), 9.0);  // the ring's hole is inside the polygon
  EXPECT_EQ(c[0].points.size(), 4u);
  EXPECT_EQ(c[0].piece_area, 9);
  expect_simple_rectilinear(c[0]);
  // Object 3: (3,6) is a hole, and (5,5) touches the outside only at a corner, which would pinch
  // the outline into a figure eight; both are filled, so the ring stays simple.
  expect_simple_rectilinear(c[1]);
  EXPECT_EQ(c[1].pieces, 1);
  EXPECT_DOUBLE_EQ(signed_area(c[1].points), double(c[1].piece_area));
  EXPECT_TRUE(centre_inside(c[1].points, 3, 6));
  EXPECT_TRUE(centre_inside(c[1].points, 5, 5));
}

TEST(Contours, SeveralPiecesKeepTheLargest) {
  const Labels l = from_rows({
      "1.....",
      ".1....",
      "...111",
      "...111",
  });
  const std::vector<Contour> c = trace_contours(l);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].pieces, 3);  // diagonal neighbours are separate 4-connected pieces
  EXPECT_DOUBLE_EQ(signed_area(c[0].points), 6.0);
  EXPECT_EQ(c[0].points[0].x, 3);
  EXPECT_EQ(c[0].points[0].y, 2);
}

TEST(Contours, RandomPixelNoiseGivesSimpleRings) {
  // Dense random labels: sprawling pieces full of holes and corner-only contacts.
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    Labels l;
    l.width = 33;
    l.height = 29;
    l.data.resize(size_t(l.width) * size_t(l.height));
    uint32_t state = seed;
    for (uint32_t& v : l.data) {
      state = state * 1664525u + 1013904223u;
      const uint32_t r = (state >> 16) % 10;
      v = r < 6 ? 1 : r < 8 ? 2 : r < 9 ? 3 : 0;
    }
    for (const Contour& c : trace_contours(l)) {
      expect_simple_rectilinear(c);
      EXPECT_DOUBLE_EQ(signed_area(c.points), double(c.piece_area)) << "seed " << seed;
      long long inside = 0;
      for (int y = 0; y < l.height; ++y)
        for (int x = 0; x < l.width; ++x) inside += centre_inside(c.points, x, y);
      EXPECT_EQ(inside, c.piece_area) << "seed " << seed << " label " << c.label;
    }
  }
}

TEST(Contours, SyntheticNucleiOutlinesEncloseExactlyTheirPixels) {
  SynthParams sp;
  sp.seed = 7;
  sp.width = 192;
  sp.height = 160;
  const SynthResult s = synthesize_nuclei(sp);
  ASSERT_TRUE(s.error.empty()) << s.error;
  const std::vector<Contour> contours = trace_contours(s.labels);
  ASSERT_EQ(int(contours.size()), s.count);
  int exact = 0;
  for (const Contour& c : contours) {
    expect_simple_rectilinear(c);
    EXPECT_GT(signed_area(c.points), 0.0);
    EXPECT_DOUBLE_EQ(signed_area(c.points), double(c.piece_area)) << c.label;
    if (c.pieces != 1) continue;
    // A one-piece object: the polygon contains its pixels, plus only the holes it had filled.
    long long object_pixels = 0, inside = 0;
    int x0 = s.labels.width, y0 = s.labels.height, x1 = 0, y1 = 0;
    for (const CornerPoint& p : c.points) {
      x0 = std::min(x0, p.x); y0 = std::min(y0, p.y); x1 = std::max(x1, p.x); y1 = std::max(y1, p.y);
    }
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        const bool mine = s.labels.at(x, y) == c.label;
        const bool in = centre_inside(c.points, x, y);
        object_pixels += mine;
        inside += in;
        if (mine) {
          EXPECT_TRUE(in) << c.label << " at " << x << "," << y;
        }
      }
    EXPECT_EQ(inside, c.piece_area);
    exact += inside == object_pixels;
  }
  EXPECT_GT(exact, s.count / 2);  // most nuclei have no holes: polygon = pixels exactly
}

}  // namespace
}  // namespace celldrop

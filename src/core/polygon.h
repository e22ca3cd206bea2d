// Planar polygon geometry for star-convex post-processing and exports: area, exact intersection area
// of two simple polygons, and scanline filling into a label image.
//
// Coordinates are in pixels with pixel (x, y)'s CENTRE at (x, y) (so pixel (x, y) covers
// [x - 0.5, x + 0.5] x [y - 0.5, y + 0.5]), y pointing down as in the image.
#pragma once

#include <cmath>
#include <vector>

#include "core/image.h"

namespace celldrop {

struct Point2 {
  double x, y;
};

// Area enclosed by a simple polygon (either orientation), by the shoelace formula.
double polygon_area(const Point2* pts, int n);

// A polygon prepared for many intersection queries (NMS compares each candidate with its
// neighbours): its non-vertical edges as x-monotone pieces, sorted by their left end.
struct PreparedPolygon {
  struct Edge {
    double x0, x1;   // x0 < x1
    double y0, y1;   // y at x0 and at x1
    double slope;    // (y1 - y0) / (x1 - x0)
    double sign;     // +1 if the polygon walks this edge towards -x, -1 towards +x
  };
  std::vector<Edge> edges;
  double area = 0.0;
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;  // bounding box of the vertices
};

void prepare_polygon(const Point2* pts, int n, PreparedPolygon* out);

// Exact area of the intersection of two simple polygons (not necessarily convex: star-convex nuclei
// are not). Method: a polygon's indicator is the signed sum over its edges of the regions under each
// edge (a trapezoid down to a common baseline), so the intersection area is the double sum over edge
// pairs of signed areas under min(edge a, edge b) where their x-ranges overlap. Each term is the
// integral of the minimum of two linear functions, which depends continuously on the vertices: shared
// or collinear edges and vertices lying on the other polygon need no special cases.
// A sweep over x visits only edge pairs whose x-ranges overlap: about O(n + m) pairs for star shapes.
double intersection_area(const PreparedPolygon& a, const PreparedPolygon& b);

// The same area, faster, for the common case in NMS: both polygons strictly star-shaped about one
// point o (each edge seen from o turns by a positive angle below pi, once around in all), vertices in
// order of increasing angle atan2(y - o.y, x - o.x) as star.h's rays are. Then the intersection, seen
// from o, is bounded by the nearer of the two boundaries in every direction, and its area is a sum of
// triangles over the angular sectors between the vertices of both: O(na + nb), no sorting.
// Returns false, leaving *area alone, when the polygons are not of that kind (use intersection_area).
// The sectors only add area, so a caller that merely asks "is it more than `enough`?" (NMS) lets it
// stop at the first partial sum above `enough` and return that. A caller comparing one polygon with
// many may check `b` once with is_strictly_star_about and pass b_checked = true.
bool star_intersection_area(const Point2* a, int na, const Point2* b, int nb, Point2 o, double* area,
                            double enough = HUGE_VAL, bool b_checked = false);
bool is_strictly_star_about(const Point2* p, int n, Point2 o);

// Convenience for one-off queries.
double polygon_intersection_area(const Point2* a, int na, const Point2* b, int nb);

// Douglas-Peucker: the points of a traced line that keep it within `tolerance` of every point dropped
// (the first and last always stay). A hand-drawn outline shrinks to its corners, so a link holds it short.
std::vector<Point2> simplify_polyline(const std::vector<Point2>& points, double tolerance);

// Fills the pixels whose centres lie inside the polygon (even-odd rule; a pixel centre exactly on a
// left or top edge is inside, on a right or bottom edge outside, so polygons that share an edge never
// both claim a pixel). With only_background, pixels already labelled are kept. Pixels outside the
// image are clipped. Returns the number of pixels written.
long long fill_polygon(const Point2* pts, int n, Labels& labels, uint32_t value, bool only_background);

}  // namespace celldrop

// Object outlines as polygons, for the GeoJSON and ImageJ ROI exports.
//
// Conventions:
//   - Vertices lie on pixel corners: pixel (x, y) covers the square [x, x+1] x [y, y+1], so the
//     polygon encloses exactly the object's pixels (what ImageJ's wand and QuPath's traced
//     outlines do too). Only corners are kept: no two consecutive edges are collinear.
//   - The ring is open (the first vertex is not repeated) and simple: no edge crosses or touches
//     another, so shapely, JTS (QuPath) and ImageJ accept it.
//   - Orientation: the signed (shoelace) area on raw (x, y) coordinates is positive, i.e. counter-
//     clockwise in a y-up frame (GeoJSON's RFC 7946 exterior-ring rule, shapely's is_ccw), which is
//     clockwise as seen on screen with y down.
//   - An object made of several pieces (4-connected) is represented by its largest piece (ties:
//     the first in raster order); holes are not represented (they are filled): one simple polygon
//     per object, which every target format takes.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace celldrop {

struct CornerPoint {
  int32_t x, y;
};

struct Contour {
  uint32_t label = 0;
  std::vector<CornerPoint> points;
  int pieces = 1;             // 4-connected pieces the object had (only the largest is traced)
  long long piece_area = 0;   // pixels of the traced piece, holes included
};

// One contour per object, in ascending label order. Linear in the pixel count (work per object is
// within its bounding box).
std::vector<Contour> trace_contours(const Labels& labels);

// Signed shoelace area of a ring (positive for the orientation above).
double signed_area(const std::vector<CornerPoint>& ring);

}  // namespace celldrop

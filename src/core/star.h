// StarDist-style star-convex objects: the training target (ray distances from labels) and the
// post-processing (probability + ray distances -> non-maximum suppression -> labels).
//
// Geometry, shared by training and inference so both speak the same language:
// - Pixel (x, y)'s centre is at (x, y); an object is the union of its pixels' unit squares.
// - Ray k of n points at angle a_k = 2*pi*k/n with direction (dy, dx) = (sin a_k, cos a_k) in image
//   coordinates (y down): ray 0 points right (+x), ray n/4 down (+y), ray n/2 left, ray 3n/4 up.
//   On screen the rays therefore turn clockwise as k grows.
// - Augmentations permute rays (n divisible by 4): rotating the IMAGE by 90 degrees so that
//   (x, y) -> (H-1-y, x) (clockwise on screen; numpy's np.rot90(image, -1)) sends the ray at angle a to angle a + pi/2, i.e. new
//   ray k = old ray (k - n/4) mod n. A horizontal flip (x -> W-1-x) maps angle a to pi - a: new ray k =
//   old ray (n/2 - k) mod n; a vertical flip (y -> H-1-y) maps a to -a: new ray k = old ray (-k) mod n.
// - Arrays are plain row-major float buffers: prob[gy][gx], dist[gy][gx][k], on the grid of every
//   grid-th pixel: grid cell (gx, gy) is pixel (gx * grid, gy * grid); the grid is
//   ceil(height / grid) x ceil(width / grid). Distances are in full-resolution pixels.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"
#include "core/polygon.h"

namespace celldrop {

inline int star_grid_size(int pixels, int grid) { return (pixels + grid - 1) / grid; }

// Distance from each grid pixel's centre along each ray to where the ray leaves the pixel's object
// (leaving the image also ends it): the exact exit distance through the object's pixel squares,
// found by walking the pixels the ray crosses (a digital differential analyser), so it is sub-pixel
// accurate rather than rounded to the marching step. 0 for background pixels.
// Returns ceil(H/grid) * ceil(W/grid) * n_rays floats, [gy][gx][k].
std::vector<float> star_distances(const Labels& labels, int n_rays, int grid);

struct StarParams {
  float prob_thresh = 0.5f;  // candidates are grid pixels with prob > prob_thresh
  float nms_thresh = 0.4f;   // a candidate is suppressed by a kept polygon when their IoU > nms_thresh
  int max_candidates = 0;    // keep only the most probable ones when > 0 (bounds time on noisy input)
};

struct StarObject {
  uint32_t label;                // its value in StarResult::labels
  float score;                   // probability of its centre pixel
  double center_x, center_y;     // full-resolution pixel coordinates
  std::vector<Point2> polygon;   // n_rays vertices, in ray order
};

struct StarResult {
  Labels labels;                   // out_width x out_height; labels 1..N by descending score
  std::vector<StarObject> objects; // objects[i].label == i + 1
  int candidates = 0;              // grid pixels above prob_thresh (before max_candidates)
};

// Candidates above prob_thresh, in descending probability (ties: row-major order), are kept unless
// a polygon kept before overlaps them with IoU > nms_thresh (exact polygon IoU; only polygons with
// overlapping bounding boxes are compared, found through a grid of buckets). Kept polygons are drawn
// so that the more probable object wins every overlapping pixel (as drawing them in ascending
// probability would); a kept polygon left with no pixel is dropped, so labels stay 1..N.
// Non-finite or negative distances count as 0.
// prob: grid_height x grid_width; dist: grid_height x grid_width x n_rays, or, with dist_rows, only
// the rows that are read: cell i's rays are dist[dist_rows[i] * n_rays ...], and only candidates'
// (prob > prob_thresh) rows are ever read. Large images keep just those: at 4096^2 on grid 2 the
// dense array is 537 MB, the candidates' rows typically a tenth of it.
StarResult star_postprocess(const float* prob, const float* dist, int grid_width, int grid_height,
                            int n_rays, int grid, int out_width, int out_height,
                            const StarParams& params, const uint32_t* dist_rows = nullptr);

}  // namespace celldrop

// Plain C entry point to star_distances for Python (ctypes) training scripts. `out` holds
// ceil(height/grid) * ceil(width/grid) * n_rays floats. Returns 0, or -1 on invalid arguments.
extern "C" int celldrop_star_distances(const uint32_t* labels, int width, int height, int n_rays,
                                       int grid, float* out);

#include "core/star.h"

#include <algorithm>
#include <cmath>

namespace celldrop {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

// Non-finite or negative network outputs must not reach the geometry (NaN breaks every comparison).
inline double clean_distance(float d) { return std::isfinite(d) && d > 0.0f ? double(d) : 0.0; }

}  // namespace

std::vector<float> star_distances(const Labels& labels, int n_rays, int grid) {
  if (n_rays < 3 || grid < 1 || labels.width <= 0 || labels.height <= 0) return {};
  const int w = labels.width, h = labels.height;
  const int gw = star_grid_size(w, grid), gh = star_grid_size(h, grid);
  std::vector<float> out(size_t(gw) * size_t(gh) * size_t(n_rays), 0.0f);

  // Per ray: the step direction and, for the pixel walk, the ray length between successive vertical
  // (resp. horizontal) pixel borders. The walk starts at a pixel centre, half a pixel from the borders.
  struct Ray {
    int step_x, step_y;
    double delta_x, delta_y;  // ray length per pixel column / row crossed (infinite when parallel)
  };
  std::vector<Ray> rays(static_cast<size_t>(n_rays));
  for (int k = 0; k < n_rays; ++k) {
    const double a = kTwoPi * k / n_rays, dx = std::cos(a), dy = std::sin(a);
    Ray& r = rays[size_t(k)];
    r.step_x = dx >= 0 ? 1 : -1;
    r.step_y = dy >= 0 ? 1 : -1;
    r.delta_x = std::fabs(dx) > 1e-12 ? 1.0 / std::fabs(dx) : HUGE_VAL;
    r.delta_y = std::fabs(dy) > 1e-12 ? 1.0 / std::fabs(dy) : HUGE_VAL;
  }

  for (int gy = 0; gy < gh; ++gy) {
    for (int gx = 0; gx < gw; ++gx) {
      const int x0 = gx * grid, y0 = gy * grid;
      const uint32_t value = labels.at(x0, y0);
      if (value == 0) continue;
      float* d = out.data() + (size_t(gy) * size_t(gw) + size_t(gx)) * size_t(n_rays);
      for (int k = 0; k < n_rays; ++k) {
        const Ray& r = rays[size_t(k)];
        int x = x0, y = y0;
        double next_x = 0.5 * r.delta_x, next_y = 0.5 * r.delta_y, t = 0.0;
        for (;;) {
          // Cross whichever pixel border comes first; through a corner (equal within rounding) step
          // diagonally, as the ray only touches the two side pixels at a point.
          const double tie = 1e-9 * (1.0 + t);
          if (next_x < next_y - tie) {
            t = next_x;
            x += r.step_x;
            next_x += r.delta_x;
          } else if (next_y < next_x - tie) {
            t = next_y;
            y += r.step_y;
            next_y += r.delta_y;
          } else {
            t = std::min(next_x, next_y);
            x += r.step_x;
            y += r.step_y;
            next_x += r.delta_x;
            next_y += r.delta_y;
          }
          if (x < 0 || y < 0 || x >= w || y >= h || labels.at(x, y) != value) break;
        }
        d[k] = float(t);
      }
    }
  }
  return out;
}

StarResult star_postprocess(const float* prob, const float* dist, int grid_width, int grid_height,
                            int n_rays, int grid, int out_width, int out_height,
                            const StarParams& params, const uint32_t* dist_rows) {
  StarResult result;
  result.labels = make_labels(std::max(out_width, 0), std::max(out_height, 0));
  if (n_rays < 3 || grid < 1 || grid_width <= 0 || grid_height <= 0 || result.labels.data.empty())
    return result;

  // --- candidates, most probable first -----------------------------------------------------------
  struct Candidate {
    float prob;
    int index;  // gy * grid_width + gx
  };
  std::vector<Candidate> cands;
  const int grid_cells = grid_width * grid_height;
  for (int i = 0; i < grid_cells; ++i)
    if (prob[i] > params.prob_thresh) cands.push_back({prob[i], i});  // NaN never passes
  result.candidates = int(cands.size());
  auto more_probable = [](const Candidate& a, const Candidate& b) {
    return a.prob != b.prob ? a.prob > b.prob : a.index < b.index;
  };
  if (params.max_candidates > 0 && int(cands.size()) > params.max_candidates) {
    std::partial_sort(cands.begin(), cands.begin() + params.max_candidates, cands.end(), more_probable);
    cands.resize(size_t(params.max_candidates));
  } else {
    std::sort(cands.begin(), cands.end(), more_probable);
  }

  // The candidates' rays are gathered in processing order, a block at a time. The NMS loop does much
  // work per candidate, so fetching its rays there (scattered over a dist array of hundreds of MB at
  // 2048^2) stalls on a cache miss per candidate; a plain copy loop overlaps those misses instead,
  // and blocks keep the copy small.
  auto rays_of = [&](int cell) {
    return dist + size_t(dist_rows ? dist_rows[cell] : uint32_t(cell)) * size_t(n_rays);
  };
  const size_t block = 16384;
  std::vector<float> block_dist(std::min(block, cands.size()) * size_t(n_rays));
  auto gather_block = [&](size_t first) {
    const size_t end = std::min(first + block, cands.size());
    for (size_t i = first; i < end; ++i)
      std::copy_n(rays_of(cands[i].index), n_rays,
                  &block_dist[(i - first) * size_t(n_rays)]);
  };

  std::vector<double> ray_cos(static_cast<size_t>(n_rays)), ray_sin(static_cast<size_t>(n_rays));
  for (int k = 0; k < n_rays; ++k) {
    ray_cos[size_t(k)] = std::cos(kTwoPi * k / n_rays);
    ray_sin[size_t(k)] = std::sin(kTwoPi * k / n_rays);
  }

  // --- buckets: a coarse grid over the image; each kept polygon is listed in every cell its bounding
  // box touches, so a candidate meets only the kept polygons near it. Cells about two mean radii wide
  // keep both the lists and the number of cells a polygon spans small.
  double radius_sum = 0.0;
  const size_t sample = std::min<size_t>(cands.size(), 4096);
  for (size_t i = 0; i < sample; ++i) {
    const float* d = rays_of(cands[i].index);
    double m = 0.0;
    for (int k = 0; k < n_rays; ++k) m = std::max(m, clean_distance(d[k]));
    radius_sum += m;
  }
  const double cell = std::min(std::max(sample ? 2.0 * radius_sum / double(sample) : 16.0, 8.0), 512.0);
  const int bw = int(std::ceil(result.labels.width / cell)), bh = int(std::ceil(result.labels.height / cell));
  std::vector<std::vector<int>> buckets(size_t(bw) * size_t(bh));
  auto cell_range = [&](double lo, double hi, int cells, int* a, int* b) {
    *a = int(std::min(std::max(std::floor(lo / cell), 0.0), double(cells - 1)));
    *b = int(std::min(std::max(std::floor(hi / cell), 0.0), double(cells - 1)));
  };

  // --- greedy non-maximum suppression -------------------------------------------------------------
  struct Kept {
    float score;
    double cx, cy;
    std::vector<Point2> pts;
    PreparedPolygon prep;
    bool star_about_centre;  // all rays > 0: the fast intersection about its centre applies
  };
  std::vector<Kept> kept;
  std::vector<int> last_checked;  // per kept polygon: the last candidate compared with it
  std::vector<Point2> pts(static_cast<size_t>(n_rays));
  PreparedPolygon cand;
  const double nms = params.nms_thresh;
  for (int ci = 0; ci < int(cands.size()); ++ci) {
    const int gy = cands[size_t(ci)].index / grid_width, gx = cands[size_t(ci)].index % grid_width;
    const double cy = double(gy) * grid, cx = double(gx) * grid;
    if (size_t(ci) % block == 0) gather_block(size_t(ci));
    const float* d = &block_dist[(size_t(ci) % block) * size_t(n_rays)];
    double min_x = cx, max_x = cx, min_y = cy, max_y = cy;
    for (int k = 0; k < n_rays; ++k) {
      const double r = clean_distance(d[k]);
      Point2 p{cx + r * ray_cos[size_t(k)], cy + r * ray_sin[size_t(k)]};
      pts[size_t(k)] = p;
      min_x = std::min(min_x, p.x);
      max_x = std::max(max_x, p.x);
      min_y = std::min(min_y, p.y);
      max_y = std::max(max_y, p.y);
    }
    const double area = polygon_area(pts.data(), n_rays);
    if (!(area > 0.0)) continue;  // a degenerate polygon can neither cover a pixel nor suppress one

    bool prepared = false, suppressed = false;
    int cx0, cx1, cy0, cy1;
    cell_range(min_x, max_x, bw, &cx0, &cx1);
    cell_range(min_y, max_y, bh, &cy0, &cy1);
    for (int by = cy0; by <= cy1 && !suppressed; ++by) {
      for (int bx = cx0; bx <= cx1 && !suppressed; ++bx) {
        for (int j : buckets[size_t(by) * size_t(bw) + size_t(bx)]) {
          if (last_checked[size_t(j)] == ci) continue;
          last_checked[size_t(j)] = ci;
          const PreparedPolygon& other = kept[size_t(j)].prep;
          const double ox = std::min(max_x, other.max_x) - std::max(min_x, other.min_x);
          const double oy = std::min(max_y, other.max_y) - std::max(min_y, other.min_y);
          if (ox <= 0 || oy <= 0) continue;
          // Cheap bound first: the intersection is at most the smaller area and at most the overlap
          // of the bounding boxes. Most neighbours are ruled out here without exact geometry.
          const double bound = std::min(ox * oy, std::min(area, other.area));
          if (bound <= nms * (area + other.area - bound)) continue;
          // Exact area: usually both polygons are star-shaped about one of the two centres, which
          // allows the linear-time path; otherwise the general sweep.
          const Kept& kk = kept[size_t(j)];
          // IoU > nms  <=>  intersection > nms (A + B) / (1 + nms), so the fast path may stop there.
          const double enough = nms * (area + other.area) / (1.0 + nms);
          double inter;
          if (!(kk.star_about_centre &&
                star_intersection_area(pts.data(), n_rays, kk.pts.data(), n_rays, {kk.cx, kk.cy}, &inter,
                                       enough, true)) &&
              !star_intersection_area(pts.data(), n_rays, kk.pts.data(), n_rays, {cx, cy}, &inter, enough)) {
            if (!prepared) {
              prepare_polygon(pts.data(), n_rays, &cand);
              prepared = true;
            }
            inter = intersection_area(cand, other);
          }
          if (inter > enough) {
            suppressed = true;
            break;
          }
        }
      }
    }
    if (suppressed) continue;

    Kept k;
    k.score = cands[size_t(ci)].prob;
    k.cx = cx;
    k.cy = cy;
    k.pts = pts;
    k.star_about_centre = is_strictly_star_about(pts.data(), n_rays, {cx, cy});
    if (prepared)
      k.prep = cand;
    else
      prepare_polygon(pts.data(), n_rays, &k.prep);
    const int id = int(kept.size());
    kept.push_back(std::move(k));
    last_checked.push_back(ci);
    for (int by = cy0; by <= cy1; ++by)
      for (int bx = cx0; bx <= cx1; ++bx) buckets[size_t(by) * size_t(bw) + size_t(bx)].push_back(id);
  }

  // --- render: most probable first, each only onto background, which gives the same picture as
  // drawing in ascending probability with overwriting, and lets labels be handed out as drawn.
  uint32_t next_label = 1;
  for (Kept& k : kept) {
    if (fill_polygon(k.pts.data(), n_rays, result.labels, next_label, true) == 0) continue;
    StarObject obj;
    obj.label = next_label++;
    obj.score = k.score;
    obj.center_x = k.cx;
    obj.center_y = k.cy;
    obj.polygon = std::move(k.pts);
    result.objects.push_back(std::move(obj));
  }
  return result;
}

}  // namespace celldrop

extern "C" int celldrop_star_distances(const uint32_t* labels, int width, int height, int n_rays,
                                       int grid, float* out) {
  if (!labels || !out || width <= 0 || height <= 0 || n_rays < 3 || grid < 1) return -1;
  celldrop::Labels l;
  l.width = width;
  l.height = height;
  l.data.assign(labels, labels + size_t(width) * size_t(height));
  std::vector<float> d = celldrop::star_distances(l, n_rays, grid);
  std::copy(d.begin(), d.end(), out);
  return 0;
}

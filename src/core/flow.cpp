// Cellpose-style post-processing; see flow.h for the method and its conventions.
#include "core/flow.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/labels.h"

namespace celldrop {

namespace {

// Bounding box (inclusive) and pixel count of one object.
struct ObjectBox {
  uint32_t id;
  int x0, y0, x1, y1;
  size_t area;
};

// One pass over the labels. Label values need not be consecutive: a hash map finds each object, and
// the last one seen is cached because runs of one label are the rule.
std::vector<ObjectBox> object_boxes(const Labels& labels) {
  std::vector<ObjectBox> boxes;
  std::unordered_map<uint32_t, size_t> index;
  uint32_t last_id = 0;
  size_t last = 0;
  for (int y = 0; y < labels.height; ++y) {
    const uint32_t* row = labels.data.data() + size_t(y) * size_t(labels.width);
    for (int x = 0; x < labels.width; ++x) {
      const uint32_t v = row[x];
      if (v == 0) continue;
      if (v != last_id) {
        auto it = index.find(v);
        if (it == index.end()) {
          it = index.emplace(v, boxes.size()).first;
          boxes.push_back({v, x, y, x, y, 0});
        }
        last = it->second;
        last_id = v;
      }
      ObjectBox& b = boxes[last];
      b.x0 = std::min(b.x0, x);
      b.x1 = std::max(b.x1, x);
      b.y1 = y;  // rows come in order
      ++b.area;
    }
  }
  return boxes;
}

// Heat diffusion inside one object's box (pw x ph, a ring of zeros around it): each step a unit of
// heat enters at `centre`, then every object pixel takes the mean of its 3x3 neighbourhood (outside
// pixels hold no heat), computed separably: row sums, then column sums of those. `weight` is 1/9 on
// object pixels and 0 elsewhere. Values below `floor` become 0: the heat front far from the centre
// is astronomically small, and denormal numbers there would make every operation on them ~100x
// slower on x86 CPUs. Returns the smallest heat over `pixels` (0 if the floor cut any off).
template <class T>
T diffuse(std::vector<T>& heat, std::vector<T>& next, std::vector<T>& rowsum, const std::vector<T>& weight,
          int pw, int ph, int centre, int niter, T floor, const std::vector<int>& pixels) {
  const size_t n = size_t(pw) * size_t(ph);
  heat.assign(n, T(0));
  next.assign(n, T(0));
  rowsum.assign(n, T(0));
  for (int it = 0; it < niter; ++it) {
    heat[size_t(centre)] += T(1);
    for (int r = 0; r < ph; ++r) {
      const T* t = heat.data() + size_t(r) * size_t(pw);
      T* s = rowsum.data() + size_t(r) * size_t(pw);
      for (int c = 1; c < pw - 1; ++c) s[c] = t[c - 1] + t[c] + t[c + 1];
    }
    for (int r = 1; r < ph - 1; ++r) {
      const size_t o = size_t(r) * size_t(pw);
      const T* up = rowsum.data() + o - size_t(pw);
      const T* mid = rowsum.data() + o;
      const T* down = rowsum.data() + o + size_t(pw);
      const T* w = weight.data() + o;
      T* t = next.data() + o;
      for (int c = 1; c < pw - 1; ++c) {
        const T v = w[c] * (up[c] + mid[c] + down[c]);
        t[c] = v > floor ? v : T(0);
      }
    }
    heat.swap(next);
  }
  T lowest = heat[size_t(pixels[0])];
  for (int i : pixels) lowest = std::min(lowest, heat[size_t(i)]);
  return lowest;
}

// Writes the normalised central-difference gradient of the heat, which rises toward the centre, for
// the box's pixel (x, y) at out[(y - y0 + oy) * width + (x - x0 + ox)].
template <class T>
void write_gradient(const std::vector<T>& heat, const std::vector<int>& pixels, int pw, int ox, int oy,
                    int width, float* out_dy, float* out_dx) {
  for (int i : pixels) {
    const double gy = double(heat[size_t(i + pw)]) - double(heat[size_t(i - pw)]);
    const double gx = double(heat[size_t(i + 1)]) - double(heat[size_t(i - 1)]);
    const double norm = std::sqrt(gy * gy + gx * gx);
    if (!(norm > 0.0)) continue;
    const size_t o = size_t(i / pw - 1 + oy) * size_t(width) + size_t(i % pw - 1 + ox);
    out_dy[o] = float(gy / norm);
    out_dx[o] = float(gx / norm);
  }
}

// One object's unit flows (masks_to_flows, object by object), with scratch buffers kept between
// objects. Box pixel (x, y) of the object goes to out[(y - b.y0 + oy) * width + (x - b.x0 + ox)]:
// (ox, oy) = (b.x0, b.y0) places it in a whole image, (0, 0) in a buffer of the box. Pixels without
// a gradient are left as they were.
struct ObjectFlows {
  std::vector<float> heat, next, rowsum, weight;
  std::vector<double> heat64, next64, rowsum64, weight64;
  std::vector<int> pixels, coords;

  void write(const Labels& labels, const ObjectBox& b, int ox, int oy, int width, float* out_dy, float* out_dx) {
    const int bw = b.x1 - b.x0 + 1, bh = b.y1 - b.y0 + 1;
    const int pw = bw + 2, ph = bh + 2;  // a ring of zeros: outside pixels hold no heat
    const size_t n = size_t(pw) * size_t(ph);
    weight.assign(n, 0.0f);
    pixels.clear();
    for (int y = b.y0; y <= b.y1; ++y)
      for (int x = b.x0; x <= b.x1; ++x)
        if (labels.at(x, y) == b.id) {
          const int i = (y - b.y0 + 1) * pw + (x - b.x0 + 1);
          weight[size_t(i)] = 1.0f / 9.0f;
          pixels.push_back(i);
        }

    // Centre: the object pixel nearest the per-axis median position.
    const size_t half = pixels.size() / 2;
    coords.resize(pixels.size());
    for (size_t k = 0; k < pixels.size(); ++k) coords[k] = pixels[k] / pw;
    std::nth_element(coords.begin(), coords.begin() + long(half), coords.end());
    const int my = coords[half];
    for (size_t k = 0; k < pixels.size(); ++k) coords[k] = pixels[k] % pw;
    std::nth_element(coords.begin(), coords.begin() + long(half), coords.end());
    const int mx = coords[half];
    int centre = pixels[0];
    long best = -1;
    for (int i : pixels) {
      const long dy = i / pw - my, dx = i % pw - mx;
      if (best < 0 || dy * dy + dx * dx < best) {
        best = dy * dy + dx * dx;
        centre = i;
      }
    }

    // Floats suffice for compact objects and are twice as fast; in a long thin object the heat at
    // the far end is below 1e-20 of the centre's (floats would lose it), so that object is redone
    // in doubles. Either way the result is the same to ~1e-5 in direction.
    const int niter = 2 * (bh + bw);
    if (diffuse(heat, next, rowsum, weight, pw, ph, centre, niter, 1e-30f, pixels) >= 1e-20f) {
      write_gradient(heat, pixels, pw, ox, oy, width, out_dy, out_dx);
    } else {
      weight64.assign(weight.begin(), weight.end());
      for (int i : pixels) weight64[size_t(i)] = 1.0 / 9.0;
      diffuse(heat64, next64, rowsum64, weight64, pw, ph, centre, niter, 1e-300, pixels);
      write_gradient(heat64, pixels, pw, ox, oy, width, out_dy, out_dx);
    }
  }
};

}  // namespace

FlowField make_flow_field(int width, int height) {
  FlowField f;
  f.width = width;
  f.height = height;
  f.data.assign(2 * size_t(width) * size_t(height), 0.0f);
  return f;
}

FlowField masks_to_flows(const Labels& labels) {
  FlowField flow = make_flow_field(labels.width, labels.height);
  ObjectFlows objects;
  for (const ObjectBox& b : object_boxes(labels))
    objects.write(labels, b, b.x0, b.y0, labels.width, flow.dy(), flow.dx());
  return flow;
}

namespace {

// The field the dynamics sample: the network's flows divided by flow_scale, zero off the foreground
// (so sampling needs no foreground test: a pixel that drifts into background stops) and where a
// network emitted NaN or infinity (fp16 overflow, a bad tile: such a pixel gets no flow rather than
// a position that is not a number). `src` and `dst` may be the same field. Returns the number of
// foreground pixels; `non_finite`, when given, receives those pixels' divided flows.
struct NonFinite {
  size_t pixel;
  float dy, dx;
};
size_t mask_field(const FlowField& src, const std::vector<uint8_t>& foreground, float flow_scale,
                  FlowField& dst, std::vector<NonFinite>* non_finite = nullptr) {
  const size_t npix = size_t(src.width) * size_t(src.height);
  const float inv = flow_scale != 0.0f ? 1.0f / flow_scale : 1.0f;
  size_t count = 0;
  for (size_t i = 0; i < npix; ++i) {
    const float keep = foreground[i] ? inv : 0.0f;
    const float dy = src.dy()[i] * keep, dx = src.dx()[i] * keep;
    if (non_finite && !(std::isfinite(dy) && std::isfinite(dx))) non_finite->push_back({i, dy, dx});
    dst.dy()[i] = std::isfinite(dy) ? dy : 0.0f;
    dst.dx()[i] = std::isfinite(dx) ? dx : 0.0f;
    count += foreground[i] != 0;
  }
  return count;
}

// The Euler steps on a masked field (see follow_flows in flow.h).
EndPoints integrate(const FlowField& field, const std::vector<uint8_t>& foreground, size_t count,
                    int niter) {
  const int w = field.width, h = field.height;
  const float* fdy = field.dy();
  const float* fdx = field.dx();
  EndPoints ends;
  ends.pixel.reserve(count);
  ends.y.resize(count);
  ends.x.resize(count);
  std::vector<uint32_t> active;
  std::vector<float> win_y, win_x, path;
  const float ymax = float(h - 1), xmax = float(w - 1);
  // Pixels go block by block: a block's pixels stay within a few object diameters of it, so the part
  // of the field they sample stays in cache for all their steps. Within a block all moving pixels
  // advance together, one step at a time: a pixel's steps form a chain of dependent loads and
  // multiplies, and independent pixels side by side keep the CPU busy where one chain would wait.
  // Every 4 steps, settled pixels leave.
  const int block = 64;
  for (int by = 0; by < h; by += block)
    for (int bx = 0; bx < w; bx += block) {
      const size_t first = ends.pixel.size();
      for (int y = by; y < std::min(by + block, h); ++y)
        for (int x = bx; x < std::min(bx + block, w); ++x) {
          const size_t i = size_t(y) * size_t(w) + size_t(x);
          if (!foreground[i]) continue;
          const size_t k = ends.pixel.size();
          ends.pixel.push_back(uint32_t(i));
          ends.y[k] = float(y);
          ends.x[k] = float(x);
        }
      const size_t n = ends.pixel.size() - first;
      if (n == 0) continue;
      float* py = ends.y.data() + first;
      float* px = ends.x.data() + first;
      active.resize(n);
      for (size_t k = 0; k < n; ++k) active[k] = uint32_t(k);
      win_y.assign(py, py + n);
      win_x.assign(px, px + n);
      path.assign(n, 0.0f);
      for (int it = 0; it < niter && !active.empty(); ++it) {
        for (uint32_t k : active) {
          const float y = py[k], x = px[k];
          const int iy = int(y), ix = int(x);  // y, x >= 0: truncation is floor
          const int iy1 = std::min(iy + 1, h - 1), ix1 = std::min(ix + 1, w - 1);
          const float fy = y - float(iy), fx = x - float(ix);
          const size_t a = size_t(iy) * size_t(w) + size_t(ix), b = size_t(iy) * size_t(w) + size_t(ix1);
          const size_t c = size_t(iy1) * size_t(w) + size_t(ix), d = size_t(iy1) * size_t(w) + size_t(ix1);
          const float w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx;
          const float w10 = fy * (1 - fx), w11 = fy * fx;
          const float sy = w00 * fdy[a] + w01 * fdy[b] + w10 * fdy[c] + w11 * fdy[d];
          const float sx = w00 * fdx[a] + w01 * fdx[b] + w10 * fdx[c] + w11 * fdx[d];
          py[k] = std::min(std::max(y + sy, 0.0f), ymax);
          px[k] = std::min(std::max(x + sx, 0.0f), xmax);
          path[k] += std::fabs(sy) + std::fabs(sx);
        }
        if ((it & 3) != 3) continue;
        size_t kept = 0;
        for (uint32_t k : active) {
          // Oscillating (or stuck against the image edge), or settled on a fixed point (a smooth
          // approach to the centre slows down geometrically): more steps would not move it away.
          const float net = std::fabs(py[k] - win_y[k]) + std::fabs(px[k] - win_x[k]);
          if (net <= 0.25f * path[k] || path[k] < 0.025f) continue;
          win_y[k] = py[k];
          win_x[k] = px[k];
          path[k] = 0.0f;
          active[kept++] = k;
        }
        active.resize(kept);
      }
    }
  return ends;
}

}  // namespace

EndPoints follow_flows(const FlowField& flow, const std::vector<uint8_t>& foreground, int niter,
                       float flow_scale) {
  FlowField field = make_flow_field(flow.width, flow.height);
  const size_t count = mask_field(flow, foreground, flow_scale, field);
  return integrate(field, foreground, count, niter);
}

namespace {

// Each end point's histogram cell: its position rounded to the pixel grid.
std::vector<uint32_t> end_point_cells(const EndPoints& ends, int width, int height) {
  std::vector<uint32_t> cell(ends.pixel.size());
  for (size_t k = 0; k < cell.size(); ++k) {
    const int cy = std::min(std::max(int(std::lround(ends.y[k])), 0), height - 1);
    const int cx = std::min(std::max(int(std::lround(ends.x[k])), 0), width - 1);
    cell[k] = uint32_t(cy) * uint32_t(width) + uint32_t(cx);
  }
  return cell;
}

// get_masks once the end points are cells: end point k started at pixel[k] and ended in cell[k].
Labels cluster_end_points(const std::vector<uint32_t>& pixel, std::vector<uint32_t> cell, int width,
                          int height, float max_size_fraction) {
  const size_t npix = size_t(width) * size_t(height);
  const size_t count = pixel.size();
  // One image-sized array serves three purposes in turn (at 4096² each would be 64 MB): the
  // histogram of end points, then the label of each histogram cell, then the masks themselves.
  std::vector<uint32_t> grid(npix, 0);
  Labels out;
  out.width = width;
  out.height = height;
  if (count == 0) {
    out.data = std::move(grid);
    return out;
  }

  // Histogram of end points on the pixel grid.
  std::vector<uint32_t>& hist = grid;
  std::vector<uint32_t> occupied;
  for (size_t k = 0; k < count; ++k)
    if (hist[cell[k]]++ == 0) occupied.push_back(cell[k]);
  // 3x3 counts, computed where needed: end points of one object spread over a pixel or two.
  auto sum3 = [&](int cx, int cy) {
    uint32_t s = 0;
    for (int y = std::max(cy - 1, 0); y <= std::min(cy + 1, height - 1); ++y)
      for (int x = std::max(cx - 1, 0); x <= std::min(cx + 1, width - 1); ++x)
        s += hist[size_t(y) * size_t(width) + size_t(x)];
    return s;
  };
  const uint32_t seed_min = 10;
  struct Candidate {
    uint32_t sum, cell;
  };
  std::vector<Candidate> candidates;
  for (uint32_t c : occupied) {
    const int cx = int(c % uint32_t(width)), cy = int(c / uint32_t(width));
    const uint32_t s = sum3(cx, cy);
    if (s < seed_min) continue;
    bool is_max = true;
    for (int y = std::max(cy - 2, 0); y <= std::min(cy + 2, height - 1) && is_max; ++y)
      for (int x = std::max(cx - 2, 0); x <= std::min(cx + 2, width - 1); ++x)
        if (sum3(x, y) > s) {
          is_max = false;
          break;
        }
    if (is_max) candidates.push_back({s, c});
  }
  // Plateaus give several maxima per cluster: the strongest (then first in raster order) wins and
  // suppresses the others within 2 px.
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.sum != b.sum ? a.sum > b.sum : a.cell < b.cell;
  });
  // The counts are not needed any more: each cell now holds its label, `unlabeled` where end points
  // fell but no seed has reached yet, 0 where none fell.
  const uint32_t unlabeled = UINT32_MAX;
  std::vector<uint32_t>& label = grid;
  for (uint32_t c : occupied) label[c] = unlabeled;
  auto labeled = [&](size_t j) { return label[j] != 0 && label[j] != unlabeled; };
  struct Front {
    uint32_t cell;
    int dist;
  };
  std::vector<Front> queue;
  uint32_t nlabels = 0;
  for (const Candidate& cand : candidates) {
    const int cx = int(cand.cell % uint32_t(width)), cy = int(cand.cell / uint32_t(width));
    bool near_seed = false;
    for (int y = std::max(cy - 2, 0); y <= std::min(cy + 2, height - 1) && !near_seed; ++y)
      for (int x = std::max(cx - 2, 0); x <= std::min(cx + 2, width - 1); ++x)
        if (labeled(size_t(y) * size_t(width) + size_t(x))) {
          near_seed = true;
          break;
        }
    if (near_seed) continue;
    label[cand.cell] = ++nlabels;
    queue.push_back({cand.cell, 0});
  }
  // Growth of all seeds together, ring by ring (breadth first), over cells holding end points.
  const int grow_radius = 5;
  for (size_t head = 0; head < queue.size(); ++head) {
    const Front f = queue[head];
    if (f.dist >= grow_radius) continue;
    const int cx = int(f.cell % uint32_t(width)), cy = int(f.cell / uint32_t(width));
    for (int y = std::max(cy - 1, 0); y <= std::min(cy + 1, height - 1); ++y)
      for (int x = std::max(cx - 1, 0); x <= std::min(cx + 1, width - 1); ++x) {
        const size_t j = size_t(y) * size_t(width) + size_t(x);
        if (label[j] != unlabeled) continue;
        label[j] = label[f.cell];
        queue.push_back({uint32_t(j), f.dist + 1});
      }
  }
  std::vector<Front>().swap(queue);

  // Each end point's label, through its cell; then the grid becomes the masks: every pixel takes
  // the label its end point got.
  std::vector<size_t> area(size_t(nlabels) + 1, 0);
  for (size_t k = 0; k < count; ++k) {
    const uint32_t l = label[cell[k]];
    cell[k] = l == unlabeled ? 0 : l;
    ++area[cell[k]];
  }
  std::fill(grid.begin(), grid.end(), 0u);
  for (size_t k = 0; k < count; ++k) grid[pixel[k]] = cell[k];
  out.data = std::move(grid);
  const double max_area = double(max_size_fraction) * double(npix);
  bool any_too_large = false;
  for (size_t l = 1; l < area.size(); ++l) any_too_large |= double(area[l]) > max_area;
  if (any_too_large)
    for (uint32_t& v : out.data)
      if (v && double(area[v]) > max_area) v = 0;
  return out;
}

}  // namespace

Labels get_masks(const EndPoints& ends, int width, int height, float max_size_fraction) {
  return cluster_end_points(ends.pixel, end_point_cells(ends, width, height), width, height, max_size_fraction);
}

std::vector<float> flow_errors(const Labels& labels, const FlowField& network_flow, float flow_scale) {
  uint32_t max_label = 0;
  for (uint32_t v : labels.data) max_label = std::max(max_label, v);
  std::vector<float> err(size_t(max_label) + 1, -1.0f);
  const float inv = flow_scale != 0.0f ? 1.0f / flow_scale : 1.0f;
  // Object by object, each one's ideal flows in a buffer the size of its box: a whole image's would
  // be 8 bytes a pixel. Its pixels are summed in raster order, as a pass over the image would.
  ObjectFlows objects;
  std::vector<float> ideal_dy, ideal_dx;
  for (const ObjectBox& b : object_boxes(labels)) {
    const int bw = b.x1 - b.x0 + 1, bh = b.y1 - b.y0 + 1;
    ideal_dy.assign(size_t(bw) * size_t(bh), 0.0f);
    ideal_dx.assign(size_t(bw) * size_t(bh), 0.0f);
    objects.write(labels, b, 0, 0, bw, ideal_dy.data(), ideal_dx.data());
    double sum = 0.0;
    size_t n = 0;
    for (int y = b.y0; y <= b.y1; ++y) {
      for (int x = b.x0; x <= b.x1; ++x) {
        if (labels.at(x, y) != b.id) continue;
        const size_t i = size_t(y) * size_t(labels.width) + size_t(x);
        const size_t k = size_t(y - b.y0) * size_t(bw) + size_t(x - b.x0);
        const double ey = ideal_dy[k] - network_flow.dy()[i] * inv;
        const double ex = ideal_dx[k] - network_flow.dx()[i] * inv;
        sum += ey * ey + ex * ex;
        ++n;
      }
    }
    err[b.id] = float(sum / double(n));
  }
  return err;
}

int flow_niter_for_diameter(double diameter, double reference_diameter) {
  if (!(diameter > 0.0) || !(reference_diameter > 0.0)) return 200;
  return std::max(1, int(std::lround(200.0 * diameter / reference_diameter)));
}

std::vector<uint8_t> flow_foreground(const float* cellprob, size_t npix, const FlowParams& params) {
  std::vector<uint8_t> foreground(npix);
  for (size_t i = 0; i < npix; ++i) foreground[i] = cellprob[i] > params.cellprob_threshold;
  return foreground;
}

namespace {

// Flow-error QC: masks whose flows are not what the network described are dropped.
void drop_bad_flows(Labels& masks, const FlowField& flow, float flow_scale, float flow_threshold) {
  const std::vector<float> err = flow_errors(masks, flow, flow_scale);
  for (uint32_t& v : masks.data)
    if (v && !(err[v] <= flow_threshold)) v = 0;  // NaN flows: no evidence, dropped
}

void clean_up(Labels& masks, int min_size) {
  fill_holes(masks);
  remove_small_objects(masks, min_size);
}

}  // namespace

Labels flow_postprocess(const float* cellprob, const FlowField& flow, const FlowParams& params) {
  const size_t npix = size_t(flow.width) * size_t(flow.height);
  const EndPoints ends = follow_flows(flow, flow_foreground(cellprob, npix, params), params.niter, params.flow_scale);
  return flow_masks_from_ends(ends, flow, params);
}

Labels flow_masks_from_ends(const EndPoints& ends, const FlowField& flow, const FlowParams& params) {
  Labels masks = get_masks(ends, flow.width, flow.height, params.max_size_fraction);
  if (params.flow_threshold > 0.0f) drop_bad_flows(masks, flow, params.flow_scale, params.flow_threshold);
  clean_up(masks, params.min_size);
  return masks;
}

Labels flow_postprocess_owned(FlowField flow, std::vector<uint8_t> foreground, const FlowParams& params) {
  // The dynamics' masked field is the network's field itself. The QC reads it only on the masks'
  // pixels, all foreground, where it holds the flows divided by flow_scale (so the QC is told a
  // scale of 1): the same values flow_postprocess's QC computes, once the few non-finite ones that
  // masking zeroed are put back.
  std::vector<NonFinite> non_finite;
  const size_t count = mask_field(flow, foreground, params.flow_scale, flow, &non_finite);
  EndPoints ends = integrate(flow, foreground, count, params.niter);
  std::vector<uint8_t>().swap(foreground);
  std::vector<uint32_t> cells = end_point_cells(ends, flow.width, flow.height);
  std::vector<float>().swap(ends.y);  // positions done with: cells and start pixels remain
  std::vector<float>().swap(ends.x);
  Labels masks = cluster_end_points(ends.pixel, std::move(cells), flow.width, flow.height, params.max_size_fraction);
  ends = EndPoints();
  if (params.flow_threshold > 0.0f) {
    for (const NonFinite& n : non_finite) {
      flow.dy()[n.pixel] = n.dy;
      flow.dx()[n.pixel] = n.dx;
    }
    drop_bad_flows(masks, flow, 1.0f, params.flow_threshold);
  }
  flow = FlowField();
  clean_up(masks, params.min_size);
  return masks;
}

}  // namespace celldrop

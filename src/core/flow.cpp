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
  float* out_dy = flow.dy();
  float* out_dx = flow.dx();
  // Doubles, not floats: in a long thin object the heat at the far end after a few hundred steps is
  // around 1e-30 of the centre's, where floats lose the gradient's direction.
  std::vector<double> heat, next, rowsum, inside;
  std::vector<int> pixels, coords;
  for (const ObjectBox& b : object_boxes(labels)) {
    const int bw = b.x1 - b.x0 + 1, bh = b.y1 - b.y0 + 1;
    const int pw = bw + 2, ph = bh + 2;  // a ring of zeros: outside pixels hold no heat
    const size_t n = size_t(pw) * size_t(ph);
    inside.assign(n, 0.0);
    pixels.clear();
    for (int y = b.y0; y <= b.y1; ++y)
      for (int x = b.x0; x <= b.x1; ++x)
        if (labels.at(x, y) == b.id) {
          const int i = (y - b.y0 + 1) * pw + (x - b.x0 + 1);
          inside[size_t(i)] = 1.0 / 9.0;  // the 3x3 mean's weight, zero outside the object
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

    // Diffusion: a unit of heat enters at the centre each step, then every object pixel takes the
    // mean of its 3x3 neighbourhood (separably: row sums, then column sums of those).
    heat.assign(n, 0.0);
    next.assign(n, 0.0);
    rowsum.assign(n, 0.0);
    const int niter = 2 * (bh + bw);
    for (int it = 0; it < niter; ++it) {
      heat[size_t(centre)] += 1.0;
      for (int r = 0; r < ph; ++r) {
        const double* t = heat.data() + size_t(r) * size_t(pw);
        double* s = rowsum.data() + size_t(r) * size_t(pw);
        for (int c = 1; c < pw - 1; ++c) s[c] = t[c - 1] + t[c] + t[c + 1];
      }
      for (int r = 1; r < ph - 1; ++r) {
        const size_t o = size_t(r) * size_t(pw);
        const double* up = rowsum.data() + o - size_t(pw);
        const double* mid = rowsum.data() + o;
        const double* down = rowsum.data() + o + size_t(pw);
        const double* w = inside.data() + o;
        double* t = next.data() + o;
        for (int c = 1; c < pw - 1; ++c) t[c] = w[c] * (up[c] + mid[c] + down[c]);
      }
      heat.swap(next);
    }

    // Flows: the normalised central-difference gradient of the heat, which rises toward the centre.
    for (int i : pixels) {
      const double gy = heat[size_t(i + pw)] - heat[size_t(i - pw)];
      const double gx = heat[size_t(i + 1)] - heat[size_t(i - 1)];
      const double norm = std::sqrt(gy * gy + gx * gx);
      if (!(norm > 0.0)) continue;
      const size_t o = size_t(i / pw - 1 + b.y0) * size_t(labels.width) + size_t(i % pw - 1 + b.x0);
      out_dy[o] = float(gy / norm);
      out_dx[o] = float(gx / norm);
    }
  }
  return flow;
}

EndPoints follow_flows(const FlowField& flow, const std::vector<uint8_t>& foreground, int niter,
                       float flow_scale) {
  const int w = flow.width, h = flow.height;
  const size_t npix = size_t(w) * size_t(h);
  // Interleaved (dy, dx) and zero outside the foreground: one cache line serves both components,
  // and sampling needs no foreground test.
  std::vector<float> field(2 * npix, 0.0f);
  const float inv = flow_scale != 0.0f ? 1.0f / flow_scale : 1.0f;
  EndPoints ends;
  for (size_t i = 0; i < npix; ++i) {
    if (!foreground[i]) continue;
    field[2 * i] = flow.dy()[i] * inv;
    field[2 * i + 1] = flow.dx()[i] * inv;
    ends.pixel.push_back(uint32_t(i));
  }
  ends.y.resize(ends.pixel.size());
  ends.x.resize(ends.pixel.size());
  const float ymax = float(h - 1), xmax = float(w - 1);
  for (size_t k = 0; k < ends.pixel.size(); ++k) {
    float y = float(ends.pixel[k] / uint32_t(w)), x = float(ends.pixel[k] % uint32_t(w));
    float wy = y, wx = x, path = 0.0f;  // start of the current 8-step window
    for (int it = 0; it < niter; ++it) {
      const int iy = int(y), ix = int(x);  // y, x >= 0: truncation is floor
      const int iy1 = std::min(iy + 1, h - 1), ix1 = std::min(ix + 1, w - 1);
      const float fy = y - float(iy), fx = x - float(ix);
      const float* a = &field[2 * (size_t(iy) * size_t(w) + size_t(ix))];
      const float* b = &field[2 * (size_t(iy) * size_t(w) + size_t(ix1))];
      const float* c = &field[2 * (size_t(iy1) * size_t(w) + size_t(ix))];
      const float* d = &field[2 * (size_t(iy1) * size_t(w) + size_t(ix1))];
      const float w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
      const float sy = w00 * a[0] + w01 * b[0] + w10 * c[0] + w11 * d[0];
      const float sx = w00 * a[1] + w01 * b[1] + w10 * c[1] + w11 * d[1];
      y = std::min(std::max(y + sy, 0.0f), ymax);
      x = std::min(std::max(x + sx, 0.0f), xmax);
      path += std::fabs(sy) + std::fabs(sx);
      if ((it & 7) == 7) {
        // Oscillating (or stuck against the image edge): further steps would not move it away.
        const float ny = y - wy, nx = x - wx;
        if (std::fabs(ny) + std::fabs(nx) <= 0.25f * path) break;
        wy = y;
        wx = x;
        path = 0.0f;
      }
    }
    ends.y[k] = y;
    ends.x[k] = x;
  }
  return ends;
}

Labels get_masks(const EndPoints& ends, int width, int height, float max_size_fraction) {
  const size_t npix = size_t(width) * size_t(height);
  const size_t count = ends.pixel.size();
  Labels out;
  out.width = width;
  out.height = height;
  out.data.assign(npix, 0);
  if (count == 0) return out;

  // Histogram of end points on the pixel grid.
  std::vector<uint32_t> cell(count);
  std::vector<uint32_t> hist(npix, 0);
  std::vector<uint32_t> occupied;
  for (size_t k = 0; k < count; ++k) {
    const int cy = std::min(std::max(int(std::lround(ends.y[k])), 0), height - 1);
    const int cx = std::min(std::max(int(std::lround(ends.x[k])), 0), width - 1);
    cell[k] = uint32_t(cy) * uint32_t(width) + uint32_t(cx);
    if (hist[cell[k]]++ == 0) occupied.push_back(cell[k]);
  }
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
  std::vector<uint32_t> label(npix, 0);
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
        if (label[size_t(y) * size_t(width) + size_t(x)]) {
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
        if (label[j] || hist[j] == 0) continue;
        label[j] = label[f.cell];
        queue.push_back({uint32_t(j), f.dist + 1});
      }
  }

  std::vector<size_t> area(size_t(nlabels) + 1, 0);
  for (size_t k = 0; k < count; ++k) {
    const uint32_t l = label[cell[k]];
    out.data[ends.pixel[k]] = l;
    ++area[l];
  }
  const double max_area = double(max_size_fraction) * double(npix);
  bool any_too_large = false;
  for (size_t l = 1; l < area.size(); ++l) any_too_large |= double(area[l]) > max_area;
  if (any_too_large)
    for (uint32_t& v : out.data)
      if (v && double(area[v]) > max_area) v = 0;
  return out;
}

std::vector<float> flow_errors(const Labels& labels, const FlowField& network_flow, float flow_scale) {
  uint32_t max_label = 0;
  for (uint32_t v : labels.data) max_label = std::max(max_label, v);
  const FlowField ideal = masks_to_flows(labels);
  std::vector<double> sum(size_t(max_label) + 1, 0.0);
  std::vector<size_t> n(size_t(max_label) + 1, 0);
  const float inv = flow_scale != 0.0f ? 1.0f / flow_scale : 1.0f;
  for (size_t i = 0; i < labels.data.size(); ++i) {
    const uint32_t l = labels.data[i];
    if (!l) continue;
    const double ey = ideal.dy()[i] - network_flow.dy()[i] * inv;
    const double ex = ideal.dx()[i] - network_flow.dx()[i] * inv;
    sum[l] += ey * ey + ex * ex;
    ++n[l];
  }
  std::vector<float> err(sum.size(), -1.0f);
  for (size_t l = 1; l < sum.size(); ++l)
    if (n[l]) err[l] = float(sum[l] / double(n[l]));
  return err;
}

int flow_niter_for_diameter(double diameter, double reference_diameter) {
  if (!(diameter > 0.0) || !(reference_diameter > 0.0)) return 200;
  return std::max(1, int(std::lround(200.0 * diameter / reference_diameter)));
}

Labels flow_postprocess(const float* cellprob, const FlowField& flow, const FlowParams& params) {
  const size_t npix = size_t(flow.width) * size_t(flow.height);
  std::vector<uint8_t> foreground(npix);
  for (size_t i = 0; i < npix; ++i) foreground[i] = cellprob[i] > params.cellprob_threshold;
  const EndPoints ends = follow_flows(flow, foreground, params.niter, params.flow_scale);
  Labels masks = get_masks(ends, flow.width, flow.height, params.max_size_fraction);
  if (params.flow_threshold > 0.0f) {
    const std::vector<float> err = flow_errors(masks, flow, params.flow_scale);
    for (uint32_t& v : masks.data)
      if (v && err[v] > params.flow_threshold) v = 0;
  }
  fill_holes(masks);
  remove_small_objects(masks, params.min_size);
  relabel_sequential(masks);
  return masks;
}

}  // namespace celldrop

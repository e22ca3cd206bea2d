// Synthetic fluorescence nuclei with exact ground truth (see synth.h).
//
// The model, in the order the code runs:
//   1. layout   nuclei are star-convex: an ellipse times 1 + a few low-order radial harmonics.
//               About half are placed next to an earlier one (real nuclei cluster), all with a bounded
//               overlap measured along the line between centres.
//   2. labels   painted in placement order, so a pixel belongs to the nucleus drawn on top there.
//               Nuclei left mostly hidden, in pieces, or as border slivers are dropped and the rest
//               repainted until every remaining id owns one connected, substantial region.
//   3. signal   per nucleus: brightness x dome-shaped thickness profile x value-noise chromatin texture,
//               darker nucleoli and, in some nuclei, bright chromocentres. Overlaps add up, as the
//               light from two stacked nuclei does. Then a Gaussian blur (the optics) and a smooth,
//               uneven background.
//   4. camera   Poisson shot noise on the expected photon count, Gaussian read noise, an offset and
//               a gain into 8 or 16 bits.
// Layout, shapes and noise come from separate RNG streams, so changing the noise keeps the nuclei.
// Every step uses only the portable arithmetic of rng.h, so results are bit-identical across
// platforms (GCC/glibc natively, Emscripten/musl in WebAssembly).
#include "core/synth.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/rng.h"

namespace celldrop {
namespace {

constexpr int kMinSize = 8;
constexpr int kMaxSize = 8192;       // 64 Mpx: ~1 GB of working buffers, still inside WebAssembly's 4 GB
constexpr int kMaxCount = 1000000;

struct Spot {
  double x, y;      // offset from the nucleus centre, px
  double inv_r2;    // 1 / radius^2
  double strength;  // < 0 darkens (nucleolus), > 0 brightens (chromocentre)
};

struct Nucleus {
  double cx = 0, cy = 0;     // centre, px (pixel (x, y) covers [x, x+1) x [y, y+1))
  double radius = 0;         // geometric-mean radius, px
  double inv_a = 1, inv_b = 1;  // 1 / ellipse semi-axes, in units of radius
  double cos_t = 1, sin_t = 0;  // orientation of the long axis
  double harm[6] = {};       // cos/sin amplitudes of the 2nd, 3rd and 4th radial harmonics
  double extent = 0;         // upper bound of the boundary radius, for bounding boxes
  double brightness = 1;
  double texture = 1;        // amplitude of the chromatin texture
  double tex_dx = 0, tex_dy = 0;  // where in the shared noise field this nucleus' texture comes from
  std::vector<Spot> spots;
};

// Boundary radius in the direction of the unit vector (ux, uy). The harmonics use the multiple-angle
// recurrences instead of atan2 + cos, which keeps this in plain arithmetic.
double boundary_radius(const Nucleus& n, double ux, double uy) {
  double u = ux * n.cos_t + uy * n.sin_t;
  double v = -ux * n.sin_t + uy * n.cos_t;
  double ellipse = 1.0 / std::sqrt(u * u * n.inv_a * n.inv_a + v * v * n.inv_b * n.inv_b);
  double c2 = ux * ux - uy * uy, s2 = 2.0 * ux * uy;
  double c3 = c2 * ux - s2 * uy, s3 = s2 * ux + c2 * uy;
  double c4 = c2 * c2 - s2 * s2, s4 = 2.0 * c2 * s2;
  double wobble = 1.0 + n.harm[0] * c2 + n.harm[1] * s2 + n.harm[2] * c3 + n.harm[3] * s3 +
                  n.harm[4] * c4 + n.harm[5] * s4;
  return n.radius * ellipse * wobble;
}

// Where pixel (x, y)'s centre lies relative to the nucleus: distance and boundary radius that way.
struct Polar {
  double rho, boundary;
};
Polar polar(const Nucleus& n, int x, int y) {
  double dx = x + 0.5 - n.cx, dy = y + 0.5 - n.cy;
  double rho = std::sqrt(dx * dx + dy * dy);
  if (rho < 1e-9) return {0.0, boundary_radius(n, 1.0, 0.0)};
  return {rho, boundary_radius(n, dx / rho, dy / rho)};
}

struct Box {
  int x0, y0, x1, y1;  // half-open
};
Box bounds(const Nucleus& n, int width, int height) {
  Box b{int(std::floor(n.cx - n.extent)), int(std::floor(n.cy - n.extent)),
        int(std::floor(n.cx + n.extent)) + 1, int(std::floor(n.cy + n.extent)) + 1};
  b.x0 = std::max(b.x0, 0);
  b.y0 = std::max(b.y0, 0);
  b.x1 = std::min(b.x1, width);
  b.y1 = std::min(b.y1, height);
  return b;
}

// Shape and appearance of one nucleus (position is set by the layout).
Nucleus make_nucleus(Rng& rng, const SynthParams& p) {
  Nucleus n;
  // ~6% are condensed: mitotic or apoptotic nuclei, small, round, bright and smooth.
  bool condensed = rng.uniform() < 0.06;
  double d = p.mean_diameter * (1.0 + p.diameter_spread * std::max(-2.0, std::min(2.0, rng.normal())));
  d = std::max(0.4 * p.mean_diameter, std::min(2.0 * p.mean_diameter, d));
  if (condensed) d *= 0.65;
  n.radius = std::max(1.5, 0.5 * d);

  double elongation = condensed ? rng.uniform(1.0, 1.15) : 1.0 + std::fabs(rng.normal(0.0, 0.3));
  elongation = std::min(elongation, 1.9);
  n.inv_a = 1.0 / std::sqrt(elongation);
  n.inv_b = std::sqrt(elongation);
  double angle = rng.uniform(0.0, 2.0 * pmath::kPi);
  pmath::sincos(angle, &n.sin_t, &n.cos_t);
  const double harmonic_sd[3] = {0.035, 0.03, 0.02};
  double wobble_bound = 0.0;
  for (int k = 0; k < 3; ++k) {
    double sd = condensed ? 0.3 * harmonic_sd[k] : harmonic_sd[k];
    for (int j = 0; j < 2; ++j) {
      double a = std::max(-0.08, std::min(0.08, rng.normal(0.0, sd)));
      n.harm[2 * k + j] = a;
      wobble_bound += std::fabs(a);
    }
  }
  n.extent = n.radius * std::sqrt(elongation) * (1.0 + wobble_bound) + 1.0;

  n.brightness = pmath::exp(rng.normal(0.0, 0.28)) * (condensed ? 1.9 : 1.0);
  n.texture = condensed ? 0.3 : rng.uniform(0.6, 1.4);
  n.tex_dx = rng.uniform(0.0, 4096.0);
  n.tex_dy = rng.uniform(0.0, 4096.0);
  if (!condensed) {
    int nucleoli = int(rng.below(4));  // 0..3 darker nucleoli
    for (int i = 0; i < nucleoli; ++i) {
      double s, c;
      pmath::sincos(rng.uniform(0.0, 2.0 * pmath::kPi), &s, &c);
      double r = n.radius * 0.5 * std::sqrt(rng.uniform());
      double size = n.radius * rng.uniform(0.12, 0.24) + 0.8;
      n.spots.push_back({r * c, r * s, 1.0 / (size * size), -rng.uniform(0.25, 0.5)});
    }
    if (rng.uniform() < 0.25) {  // mouse-like bright chromocentres
      int chromocentres = 3 + int(rng.below(6));
      for (int i = 0; i < chromocentres; ++i) {
        double s, c;
        pmath::sincos(rng.uniform(0.0, 2.0 * pmath::kPi), &s, &c);
        double r = n.radius * 0.75 * std::sqrt(rng.uniform());
        double size = rng.uniform(1.0, 2.0) * std::max(1.0, n.radius / 11.0);
        n.spots.push_back({r * c, r * s, 1.0 / (size * size), rng.uniform(0.4, 1.0)});
      }
    }
  }
  return n;
}

// --- 1. layout ------------------------------------------------------------------------------------
// A uniform grid of buckets makes the overlap test O(neighbours) instead of O(N).
struct Grid {
  double cell;
  int cols, rows;
  std::vector<std::vector<int>> buckets;
  Grid(double cell_size, int width, int height)
      : cell(cell_size), cols(int(width / cell_size) + 1), rows(int(height / cell_size) + 1),
        buckets(size_t(cols) * size_t(rows)) {}
  int col(double x) const { return std::max(0, std::min(cols - 1, int(std::floor(x / cell)))); }
  int row(double y) const { return std::max(0, std::min(rows - 1, int(std::floor(y / cell)))); }
};

// Can `n` go where it is, given how much the nuclei already placed may overlap?
bool fits(const Nucleus& n, const std::vector<Nucleus>& placed, const Grid& grid, double max_overlap) {
  int c0 = grid.col(n.cx) - 1, c1 = grid.col(n.cx) + 1, r0 = grid.row(n.cy) - 1, r1 = grid.row(n.cy) + 1;
  for (int r = std::max(r0, 0); r <= std::min(r1, grid.rows - 1); ++r) {
    for (int c = std::max(c0, 0); c <= std::min(c1, grid.cols - 1); ++c) {
      for (int i : grid.buckets[size_t(r) * size_t(grid.cols) + size_t(c)]) {
        const Nucleus& o = placed[size_t(i)];
        double dx = n.cx - o.cx, dy = n.cy - o.cy;
        double dist = std::sqrt(dx * dx + dy * dy);
        if (dist >= n.extent + o.extent) continue;
        if (dist < 1e-6) return false;
        double reach = boundary_radius(o, dx / dist, dy / dist) + boundary_radius(n, -dx / dist, -dy / dist);
        // Overlap depth is measured against the smaller radius, so a small nucleus never disappears
        // under a large one.
        double depth = reach - dist;
        if (depth > max_overlap * std::min(n.radius, o.radius)) return false;
      }
    }
  }
  return true;
}

std::vector<Nucleus> layout(const SynthParams& p) {
  Rng place_rng(p.seed, 1), shape_rng(p.seed, 2);
  double mean_area = pmath::kPi * 0.25 * p.mean_diameter * p.mean_diameter *
                     (1.0 + p.diameter_spread * p.diameter_spread);
  int target = p.count > 0 ? p.count
                           : int(std::floor(p.density * double(p.width) * double(p.height) / mean_area + 0.5));
  // Largest extent make_nucleus can produce: diameter <= 2x mean, elongation <= 1.9, wobble <= 0.48.
  double max_extent = p.mean_diameter * std::sqrt(1.9) * 1.48 + 1.0;
  Grid grid(2.0 * max_extent, p.width, p.height);

  std::vector<Nucleus> placed;
  placed.reserve(size_t(std::min(target, 100000)));
  // Once the field is full (a count or density beyond what the overlap limit allows), every try
  // fails: stop after a run of failures rather than after a number proportional to the target.
  int failures_in_a_row = 0;
  while (int(placed.size()) < target && failures_in_a_row < 300) {
    Nucleus n = make_nucleus(shape_rng, p);
    bool ok = false;
    for (int attempt = 0; attempt < 12 && !ok; ++attempt) {
      if (!placed.empty() && place_rng.uniform() < 0.5) {
        // Next to a random earlier nucleus, from just apart to overlapping as much as allowed.
        const Nucleus& o = placed[place_rng.below(uint32_t(placed.size()))];
        double s, c;
        pmath::sincos(place_rng.uniform(0.0, 2.0 * pmath::kPi), &s, &c);
        double reach = boundary_radius(o, c, s) + boundary_radius(n, -c, -s);
        double depth = std::min(n.radius, o.radius) * place_rng.uniform(-0.15, 1.0) * p.overlap;
        double dist = reach - depth;
        n.cx = o.cx + c * dist;
        n.cy = o.cy + s * dist;
        if (n.cx < 0.0 || n.cy < 0.0 || n.cx >= p.width || n.cy >= p.height) continue;
      } else {
        n.cx = place_rng.uniform(0.0, double(p.width));
        n.cy = place_rng.uniform(0.0, double(p.height));
      }
      ok = fits(n, placed, grid, p.overlap);
    }
    if (!ok) {
      ++failures_in_a_row;
      continue;
    }
    failures_in_a_row = 0;
    grid.buckets[size_t(grid.row(n.cy)) * size_t(grid.cols) + size_t(grid.col(n.cx))].push_back(int(placed.size()));
    placed.push_back(std::move(n));
  }
  return placed;
}

// --- 2. labels ------------------------------------------------------------------------------------
// Paints nuclei[i] as i + 1 in order (later on top) and returns, per nucleus, its pixel count inside
// the image had it been alone.
std::vector<int> paint_labels(const std::vector<Nucleus>& nuclei, Labels* labels) {
  std::fill(labels->data.begin(), labels->data.end(), 0u);
  std::vector<int> own(nuclei.size(), 0);
  for (size_t i = 0; i < nuclei.size(); ++i) {
    const Nucleus& n = nuclei[i];
    Box b = bounds(n, labels->width, labels->height);
    for (int y = b.y0; y < b.y1; ++y) {
      for (int x = b.x0; x < b.x1; ++x) {
        Polar q = polar(n, x, y);
        if (q.rho <= q.boundary) {
          labels->at(x, y) = uint32_t(i + 1);
          ++own[i];
        }
      }
    }
  }
  return own;
}

// Visible pixels and 4-connected pieces per label (index = label).
void measure_visible(const Labels& labels, size_t count, std::vector<int>* visible, std::vector<int>* pieces) {
  visible->assign(count + 1, 0);
  pieces->assign(count + 1, 0);
  std::vector<uint8_t> seen(labels.data.size(), 0);
  std::vector<size_t> stack;
  const size_t w = size_t(labels.width), h = size_t(labels.height);
  for (size_t start = 0; start < labels.data.size(); ++start) {
    uint32_t id = labels.data[start];
    if (id == 0 || seen[start]) continue;
    ++(*pieces)[id];
    seen[start] = 1;
    stack.push_back(start);
    while (!stack.empty()) {
      size_t i = stack.back();
      stack.pop_back();
      ++(*visible)[id];
      size_t x = i % w, y = i / w;
      size_t next[4];
      int k = 0;
      if (x > 0) next[k++] = i - 1;
      if (x + 1 < w) next[k++] = i + 1;
      if (y > 0) next[k++] = i - w;
      if (y + 1 < h) next[k++] = i + w;
      for (int j = 0; j < k; ++j) {
        if (!seen[next[j]] && labels.data[next[j]] == id) {
          seen[next[j]] = 1;
          stack.push_back(next[j]);
        }
      }
    }
  }
}

// Drops nuclei that would make poor ground truth, repainting until none is left to drop: dropping
// only uncovers others, so this ends, almost always after one or two rounds. Returns how many of the
// remaining nuclei are partly covered.
int settle_labels(std::vector<Nucleus>* nuclei, Labels* labels, double mean_diameter) {
  const int min_pixels = std::max(8, int(0.1 * pmath::kPi * 0.25 * mean_diameter * mean_diameter));
  for (;;) {
    std::vector<int> own = paint_labels(*nuclei, labels);
    std::vector<int> visible, pieces;
    measure_visible(*labels, nuclei->size(), &visible, &pieces);
    std::vector<Nucleus> kept;
    kept.reserve(nuclei->size());
    int covered = 0;
    for (size_t i = 0; i < nuclei->size(); ++i) {
      size_t id = i + 1;
      bool keep = pieces[id] == 1 && visible[id] >= min_pixels && visible[id] >= 0.6 * own[i];
      if (keep) kept.push_back(std::move((*nuclei)[i]));
      covered += visible[id] < own[i];
    }
    if (kept.size() == nuclei->size()) return covered;
    *nuclei = std::move(kept);
  }
}

// --- 3. signal ------------------------------------------------------------------------------------
double smoothstep(double t) { return t * t * (3.0 - 2.0 * t); }

// Value noise in [0, 1): lattice values from the hash, smoothly interpolated.
double value_noise(uint64_t seed, double x, double y) {
  double fx = std::floor(x), fy = std::floor(y);
  int64_t ix = int64_t(fx), iy = int64_t(fy);
  double tx = smoothstep(x - fx), ty = smoothstep(y - fy);
  double v00 = hash_uniform(seed, ix, iy), v10 = hash_uniform(seed, ix + 1, iy);
  double v01 = hash_uniform(seed, ix, iy + 1), v11 = hash_uniform(seed, ix + 1, iy + 1);
  double top = v00 + (v10 - v00) * tx, bottom = v01 + (v11 - v01) * tx;
  return top + (bottom - top) * ty;
}

void add_nucleus_signal(const Nucleus& n, uint64_t texture_seed, int width, int height, float* signal) {
  Box b = bounds(n, width, height);
  // Chromatin texture: two octaves, the coarse one at about a fifth of the nucleus.
  double coarse = 1.0 / std::max(2.0, n.radius * 0.4), fine = 1.0 / 1.7;
  for (int y = b.y0; y < b.y1; ++y) {
    for (int x = b.x0; x < b.x1; ++x) {
      Polar q = polar(n, x, y);
      // Coverage of the pixel by the shape, from the distance to the boundary along the ray: an
      // anti-aliased edge, so the blur acts on a smooth object rather than a staircase.
      double coverage = q.boundary - q.rho + 0.5;
      if (coverage <= 0.0) continue;
      coverage = std::min(coverage, 1.0);
      double t = std::min(q.rho / q.boundary, 1.0);
      double dome = 0.72 + 0.28 * std::sqrt(1.0 - t * t);  // thicker in the middle
      double dx = x + 0.5 - n.cx, dy = y + 0.5 - n.cy;
      double tx = dx + n.tex_dx, ty = dy + n.tex_dy;
      double grain = 0.65 * (value_noise(texture_seed, tx * coarse, ty * coarse) - 0.5) +
                     0.35 * (value_noise(texture_seed + 1, tx * fine, ty * fine) - 0.5);
      double v = 1.0 + 0.8 * n.texture * grain;
      for (const Spot& s : n.spots) {
        double ex = dx - s.x, ey = dy - s.y;
        double d2 = (ex * ex + ey * ey) * s.inv_r2;
        if (d2 < 1.0) {
          double bump = (1.0 - d2) * (1.0 - d2);
          v += s.strength * bump;
        }
      }
      signal[size_t(y) * size_t(width) + size_t(x)] += float(n.brightness * coverage * dome * std::max(v, 0.05));
    }
  }
}

// Separable Gaussian blur, edges clamped (the specimen continues past the field of view).
void gaussian_blur(float* image, int width, int height, double sigma) {
  if (sigma <= 0.0) return;
  int radius = std::max(1, int(std::ceil(3.0 * sigma)));
  std::vector<float> kernel(size_t(2 * radius + 1));
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) sum += kernel[size_t(i + radius)] = float(pmath::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& k : kernel) k = float(k / sum);

  const size_t w = size_t(width);
  std::vector<float> row(w + 2 * size_t(radius));
  for (int y = 0; y < height; ++y) {
    float* line = image + size_t(y) * w;
    for (int i = 0; i < int(row.size()); ++i) row[size_t(i)] = line[std::max(0, std::min(width - 1, i - radius))];
    for (size_t x = 0; x < w; ++x) {
      float acc = 0.0f;
      for (int k = 0; k <= 2 * radius; ++k) acc += kernel[size_t(k)] * row[x + size_t(k)];
      line[x] = acc;
    }
  }
  // Vertical pass row by row, so the inner loop runs along contiguous memory.
  std::vector<float> copy(image, image + w * size_t(height));
  for (int y = 0; y < height; ++y) {
    float* out = image + size_t(y) * w;
    std::fill(out, out + w, 0.0f);
    for (int k = -radius; k <= radius; ++k) {
      const float* in = copy.data() + size_t(std::max(0, std::min(height - 1, y + k))) * w;
      float kw = kernel[size_t(k + radius)];
      for (size_t x = 0; x < w; ++x) out[x] += kw * in[x];
    }
  }
}

// Uneven illumination and autofluorescence: very low-frequency noise plus a mild vignette.
void add_background(float* signal, int width, int height, double level, uint64_t seed) {
  if (level <= 0.0) return;
  double scale = 1.0 / (0.6 * std::max(width, height));
  double cx = 0.5 * width, cy = 0.5 * height, inv_r2 = 1.0 / (cx * cx + cy * cy);
  // The lattice is only a few cells across: hash it once instead of four times per pixel.
  const int cols = int(width * scale) + 2, rows = int(height * scale) + 2;
  std::vector<double> lattice(size_t(cols) * size_t(rows));
  for (int j = 0; j < rows; ++j)
    for (int i = 0; i < cols; ++i) lattice[size_t(j) * size_t(cols) + size_t(i)] = hash_uniform(seed, i, j);
  for (int y = 0; y < height; ++y) {
    double fy = y * scale, ty = smoothstep(fy - std::floor(fy));
    const double* row0 = &lattice[size_t(std::floor(fy)) * size_t(cols)];
    const double* row1 = row0 + cols;
    for (int x = 0; x < width; ++x) {
      double fx = x * scale, tx = smoothstep(fx - std::floor(fx));
      size_t ix = size_t(std::floor(fx));
      double top = row0[ix] + (row0[ix + 1] - row0[ix]) * tx;
      double bottom = row1[ix] + (row1[ix + 1] - row1[ix]) * tx;
      double n = top + (bottom - top) * ty;
      double dx = x - cx, dy = y - cy;
      double vignette = 1.0 - 0.25 * (dx * dx + dy * dy) * inv_r2;
      signal[size_t(y) * size_t(width) + size_t(x)] += float(level * (0.55 + 0.9 * n) * vignette);
    }
  }
}

// --- 4. camera ------------------------------------------------------------------------------------
void expose(const float* signal, const SynthParams& p, Image* image) {
  Rng rng(p.seed, 3);
  // Digital numbers per unit signal: 16-bit looks like a scientific camera (offset 100, nuclei around
  // 1000-2000 DN), 8-bit like a typical exported image (dark background, nuclei around 150, the
  // brightest saturating).
  const bool shot_noise = p.photons > 0.0;
  const double photons = shot_noise ? p.photons : 1000.0;
  const double offset = p.bits == 16 ? 100.0 : 3.0;
  const double gain = (p.bits == 16 ? 1000.0 : 150.0) / photons;  // DN per photon
  const double max_value = p.bits == 16 ? 65535.0 : 255.0;
  const size_t n = size_t(p.width) * size_t(p.height);
  for (size_t i = 0; i < n; ++i) {
    double expected = std::max(0.0, double(signal[i])) * photons;
    double electrons = shot_noise ? double(rng.poisson(expected)) : expected;
    if (p.read_noise > 0.0) electrons += p.read_noise * rng.normal();
    double dn = std::floor(offset + gain * electrons + 0.5);
    dn = std::max(0.0, std::min(max_value, dn));
    if (p.bits == 16)
      samples<uint16_t>(*image)[i] = uint16_t(dn);
    else
      image->data[i] = uint8_t(dn);
  }
}

bool check(const SynthParams& p, std::string* error) {
  char buf[200];
  auto fail = [&](const char* what) {
    *error = what;
    return false;
  };
  if (p.width < kMinSize || p.height < kMinSize || p.width > kMaxSize || p.height > kMaxSize) {
    std::snprintf(buf, sizeof buf, "synth: image size %dx%d is outside %d..%d pixels per side", p.width,
                  p.height, kMinSize, kMaxSize);
    return fail(buf);
  }
  if (p.bits != 8 && p.bits != 16) return fail("synth: bits must be 8 or 16");
  if (!(p.mean_diameter >= 3.0 && p.mean_diameter <= 500.0)) return fail("synth: diameter must be 3..500 px");
  if (!(p.diameter_spread >= 0.0 && p.diameter_spread <= 1.0)) return fail("synth: diameter spread must be 0..1");
  if (!(p.density > 0.0 && p.density <= 0.9)) return fail("synth: density must be above 0 and at most 0.9");
  if (p.count < 0 || p.count > kMaxCount) return fail("synth: count must be 0 (from density) .. 1000000");
  if (!(p.overlap >= 0.0 && p.overlap <= 0.5)) return fail("synth: overlap must be 0..0.5");
  if (!(p.blur_sigma >= 0.0 && p.blur_sigma <= 20.0)) return fail("synth: blur sigma must be 0..20 px");
  if (!(p.background >= 0.0 && p.background <= 10.0)) return fail("synth: background must be 0..10");
  if (!(p.photons <= 1e7) || p.photons != p.photons) return fail("synth: photons must be at most 1e7 (0 = no shot noise)");
  if (!(p.read_noise >= 0.0 && p.read_noise <= 1e5)) return fail("synth: read noise must be 0..1e5");
  return true;
}

}  // namespace

SynthResult synthesize_nuclei(const SynthParams& p) {
  SynthResult result;
  if (!check(p, &result.error)) return result;

  std::vector<Nucleus> nuclei = layout(p);
  result.labels = make_labels(p.width, p.height);
  result.overlapped = settle_labels(&nuclei, &result.labels, p.mean_diameter);
  result.count = int(nuclei.size());

  std::vector<float> signal(size_t(p.width) * size_t(p.height), 0.0f);
  const uint64_t texture_seed = mix64(p.seed ^ 0x7465787475726531ULL);
  for (const Nucleus& n : nuclei) add_nucleus_signal(n, texture_seed, p.width, p.height, signal.data());
  gaussian_blur(signal.data(), p.width, p.height, p.blur_sigma);
  add_background(signal.data(), p.width, p.height, p.background, mix64(p.seed ^ 0x6261636b67726e64ULL));

  result.image = make_image(p.width, p.height, 1, p.bits == 16 ? SampleType::U16 : SampleType::U8);
  expose(signal.data(), p, &result.image);
  return result;
}

}  // namespace celldrop

#include "core/star.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/metrics.h"
#include "core/synth.h"

namespace celldrop {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct TestRng {  // same sequence with every standard library
  uint64_t s;
  double uniform() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return double(s >> 11) * (1.0 / 9007199254740992.0);
  }
  double range(double lo, double hi) { return lo + (hi - lo) * uniform(); }
};

// Star-convex objects: radius R (1 + a2 cos(2t + p2) + a3 cos(3t + p3)) around a centre, placed
// without overlapping earlier ones (touching allowed). Returns the number placed.
int paint_star_objects(Labels& l, TestRng& rng, int wanted, double r_lo, double r_hi) {
  int placed = 0;
  for (int attempt = 0; attempt < wanted * 50 && placed < wanted; ++attempt) {
    double cx = rng.range(0, l.width), cy = rng.range(0, l.height), R = rng.range(r_lo, r_hi);
    double a2 = rng.range(0, 0.25), a3 = rng.range(0, 0.12), p2 = rng.range(0, 6.3), p3 = rng.range(0, 6.3);
    std::vector<std::pair<int, int>> pix;
    bool free = true;
    int ext = int(R * 1.4) + 2;
    for (int y = std::max(0, int(cy) - ext); y <= std::min(l.height - 1, int(cy) + ext) && free; ++y)
      for (int x = std::max(0, int(cx) - ext); x <= std::min(l.width - 1, int(cx) + ext); ++x) {
        double t = std::atan2(y - cy, x - cx);
        double r = R * (1 + a2 * std::cos(2 * t + p2) + a3 * std::cos(3 * t + p3));
        if (std::hypot(x - cx, y - cy) > r) continue;
        if (l.at(x, y) != 0) {
          free = false;
          break;
        }
        pix.push_back({x, y});
      }
    if (!free || pix.size() < 20) continue;
    ++placed;
    for (auto& p : pix) l.at(p.first, p.second) = uint32_t(placed);
  }
  return placed;
}

// An ideal network output for `labels`: exact distances, and a probability that is highest in the
// middle of each object (the shortest ray, normalised by its object's largest), like StarDist's
// distance-transform targets.
std::vector<float> ideal_prob(const Labels& labels, const std::vector<float>& dist, int n_rays, int grid) {
  const int gw = star_grid_size(labels.width, grid), gh = star_grid_size(labels.height, grid);
  std::vector<float> prob(size_t(gw) * size_t(gh), 0.0f);
  std::vector<float> best;
  for (int pass = 0; pass < 2; ++pass)
    for (int gy = 0; gy < gh; ++gy)
      for (int gx = 0; gx < gw; ++gx) {
        uint32_t id = labels.at(gx * grid, gy * grid);
        if (!id) continue;
        if (best.size() <= id) best.resize(id + 1, 0.0f);
        const float* d = &dist[(size_t(gy) * size_t(gw) + size_t(gx)) * size_t(n_rays)];
        float m = *std::min_element(d, d + n_rays);
        if (pass == 0)
          best[id] = std::max(best[id], m);
        else
          prob[size_t(gy) * size_t(gw) + size_t(gx)] = m / best[id];
      }
  return prob;
}

TEST(StarDistances, SquareIsExactFromEveryPixel) {
  // A 9x9 square: its pixel squares cover [5.5, 14.5]^2, so a ray from (x, y) leaves it exactly
  // where it meets that box.
  Labels l = make_labels(24, 20);
  for (int y = 6; y <= 14; ++y)
    for (int x = 6; x <= 14; ++x) l.at(x, y) = 3;
  const int n = 32;
  std::vector<float> d = star_distances(l, n, 1);
  ASSERT_EQ(d.size(), size_t(24 * 20 * n));
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 24; ++x)
      for (int k = 0; k < n; ++k) {
        float got = d[(size_t(y) * 24 + size_t(x)) * n + size_t(k)];
        if (l.at(x, y) == 0) {
          ASSERT_EQ(got, 0.0f);
          continue;
        }
        double dx = std::cos(2 * kPi * k / n), dy = std::sin(2 * kPi * k / n);
        double tx = std::fabs(dx) < 1e-12 ? 1e9 : ((dx > 0 ? 14.5 : 5.5) - x) / dx;
        double ty = std::fabs(dy) < 1e-12 ? 1e9 : ((dy > 0 ? 14.5 : 5.5) - y) / dy;
        ASSERT_NEAR(got, std::min(tx, ty), 1e-4) << "pixel " << x << "," << y << " ray " << k;
      }
}

TEST(StarDistances, DiskFromItsCentreAndTheImageBorder) {
  Labels l = make_labels(41, 41);
  const int R = 12;
  for (int y = 0; y < 41; ++y)
    for (int x = 0; x < 41; ++x)
      if ((x - 20) * (x - 20) + (y - 20) * (y - 20) <= R * R) l.at(x, y) = 1;
  const int n = 32;
  std::vector<float> d = star_distances(l, n, 1);
  const float* c = &d[(20 * 41 + 20) * n];
  EXPECT_FLOAT_EQ(c[0], R + 0.5f);       // right: exits at the far side of pixel (32, 20)
  EXPECT_FLOAT_EQ(c[n / 4], R + 0.5f);   // down
  EXPECT_FLOAT_EQ(c[n / 2], R + 0.5f);   // left
  EXPECT_FLOAT_EQ(c[3 * n / 4], R + 0.5f);
  for (int k = 0; k < n; ++k) EXPECT_NEAR(c[k], R + 0.5, 1.0) << "ray " << k;

  // An object filling the image: every ray ends at the image border.
  Labels full = make_labels(10, 6);
  std::fill(full.data.begin(), full.data.end(), 7u);
  std::vector<float> f = star_distances(full, 4, 1);
  const float* p = &f[(2 * 10 + 3) * 4];  // pixel (3, 2)
  EXPECT_FLOAT_EQ(p[0], 6.5f);  // to x = 9.5
  EXPECT_FLOAT_EQ(p[1], 3.5f);  // to y = 5.5
  EXPECT_FLOAT_EQ(p[2], 3.5f);  // to x = -0.5
  EXPECT_FLOAT_EQ(p[3], 2.5f);  // to y = -0.5
}

TEST(StarDistances, GridSamplesEveryGthPixel) {
  Labels l = make_labels(7, 5);  // grid 2: 4 x 3 cells
  TestRng rng{5};
  for (auto& v : l.data) v = rng.uniform() < 0.7 ? 1 + uint32_t(rng.uniform() * 3) : 0;
  std::vector<float> full = star_distances(l, 8, 1), coarse = star_distances(l, 8, 2);
  ASSERT_EQ(coarse.size(), size_t(4 * 3 * 8));
  for (int gy = 0; gy < 3; ++gy)
    for (int gx = 0; gx < 4; ++gx)
      for (int k = 0; k < 8; ++k)
        EXPECT_EQ(coarse[(size_t(gy) * 4 + size_t(gx)) * 8 + size_t(k)],
                  full[(size_t(gy * 2) * 7 + size_t(gx * 2)) * 8 + size_t(k)]);
  EXPECT_TRUE(star_distances(l, 2, 1).empty());  // fewer than 3 rays make no polygon
  EXPECT_TRUE(star_distances(l, 8, 0).empty());
}

TEST(StarDistances, AugmentationsPermuteRaysAsDocumented) {
  // Recompute the targets on transformed labels and compare with the documented ray permutations,
  // so a training script that follows star.h cannot silently learn rotated rays.
  Labels l = make_labels(37, 29);
  TestRng rng{21};
  paint_star_objects(l, rng, 8, 4, 9);
  const int n = 32, W = l.width, H = l.height;
  Labels rot = make_labels(H, W), hflip = make_labels(W, H), vflip = make_labels(W, H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      rot.at(H - 1 - y, x) = l.at(x, y);  // clockwise on screen, np.rot90(image, -1)
      hflip.at(W - 1 - x, y) = l.at(x, y);
      vflip.at(x, H - 1 - y) = l.at(x, y);
    }
  std::vector<float> d = star_distances(l, n, 1), dr = star_distances(rot, n, 1),
                     dh = star_distances(hflip, n, 1), dv = star_distances(vflip, n, 1);
  auto at = [n](const std::vector<float>& v, int width, int x, int y, int k) {
    return v[(size_t(y) * size_t(width) + size_t(x)) * size_t(n) + size_t(((k % n) + n) % n)];
  };
  int checked = 0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      if (!l.at(x, y)) continue;
      ++checked;
      for (int k = 0; k < n; ++k) {
        ASSERT_NEAR(at(dr, H, H - 1 - y, x, k), at(d, W, x, y, k - n / 4), 1e-4);
        ASSERT_NEAR(at(dh, W, W - 1 - x, y, k), at(d, W, x, y, n / 2 - k), 1e-4);
        ASSERT_NEAR(at(dv, W, x, H - 1 - y, k), at(d, W, x, y, -k), 1e-4);
      }
    }
  EXPECT_GT(checked, 200);
}

// Two disk-shaped candidates of radius 5 on a 1-pixel grid.
struct TwoCandidates {
  int w = 24, h = 20, n = 32;
  std::vector<float> prob, dist;
  TwoCandidates(int ax, int ay, float pa, int bx, int by, float pb)
      : prob(size_t(w) * size_t(h), 0.0f), dist(size_t(w) * size_t(h) * size_t(n), 5.0f) {
    prob[size_t(ay) * size_t(w) + size_t(ax)] = pa;
    prob[size_t(by) * size_t(w) + size_t(bx)] = pb;
  }
  StarResult run(float prob_thresh, float nms_thresh) const {
    StarParams p;
    p.prob_thresh = prob_thresh;
    p.nms_thresh = nms_thresh;
    return star_postprocess(prob.data(), dist.data(), w, h, n, 1, w, h, p);
  }
};

TEST(StarPostprocess, NmsKeepsTheMoreProbableOfTwoOverlappingCandidates) {
  // Centres 2 px apart: IoU of the two 32-gons is about 0.59.
  for (int order = 0; order < 2; ++order) {
    // The stronger candidate comes first in raster order in one case and second in the other.
    TwoCandidates c = order == 0 ? TwoCandidates(10, 10, 0.9f, 12, 10, 0.8f)
                                 : TwoCandidates(10, 10, 0.8f, 12, 10, 0.9f);
    const int strong_x = order == 0 ? 10 : 12, weak_x = order == 0 ? 12 : 10;
    StarResult r = c.run(0.5f, 0.4f);
    EXPECT_EQ(r.candidates, 2);
    ASSERT_EQ(r.objects.size(), 1u);
    EXPECT_FLOAT_EQ(r.objects[0].score, 0.9f);
    EXPECT_EQ(r.objects[0].center_x, double(strong_x));
    EXPECT_EQ(r.labels.at(strong_x, 10), 1u);
    EXPECT_EQ(r.labels.at(strong_x + (strong_x - weak_x) * 2, 10), 1u);  // its far side
    EXPECT_EQ(r.labels.at(weak_x + (weak_x - strong_x) * 2, 10), 0u);    // the weak one's far side

    // With a looser NMS both stay, and the stronger one owns the overlap.
    StarResult both = c.run(0.5f, 0.7f);
    ASSERT_EQ(both.objects.size(), 2u);
    EXPECT_FLOAT_EQ(both.objects[0].score, 0.9f);
    EXPECT_EQ(both.objects[0].label, 1u);
    EXPECT_EQ(both.objects[1].label, 2u);
    EXPECT_EQ(both.labels.at(11, 10), 1u);  // between the centres
    EXPECT_EQ(both.labels.at(weak_x, 10), 1u);
    EXPECT_EQ(both.labels.at(weak_x + (weak_x - strong_x) * 2, 10), 2u);
  }
}

TEST(StarPostprocess, ProbabilityThresholdIsStrictAndMaxCandidatesKeepsTheBest) {
  TwoCandidates c(5, 5, 0.6f, 18, 14, 0.75f);  // far apart: no suppression
  EXPECT_EQ(c.run(0.5f, 0.4f).objects.size(), 2u);
  StarResult only_strong = c.run(0.6f, 0.4f);  // 0.6 is not above 0.6
  EXPECT_EQ(only_strong.candidates, 1);
  ASSERT_EQ(only_strong.objects.size(), 1u);
  EXPECT_EQ(only_strong.labels.at(18, 14), 1u);
  EXPECT_EQ(only_strong.labels.at(5, 5), 0u);
  EXPECT_EQ(c.run(0.8f, 0.4f).objects.size(), 0u);

  StarParams p;
  p.max_candidates = 1;
  StarResult best = star_postprocess(c.prob.data(), c.dist.data(), c.w, c.h, c.n, 1, c.w, c.h, p);
  EXPECT_EQ(best.candidates, 2);
  ASSERT_EQ(best.objects.size(), 1u);
  EXPECT_FLOAT_EQ(best.objects[0].score, 0.75f);
}

TEST(StarPostprocess, BadNetworkValuesAreHarmless) {
  TwoCandidates c(6, 6, 0.9f, 16, 12, 0.8f);
  for (int k = 0; k < c.n; ++k) {
    c.dist[(size_t(6) * size_t(c.w) + 6) * size_t(c.n) + size_t(k)] = k % 3 ? NAN : -4.0f;
    c.dist[(size_t(12) * size_t(c.w) + 16) * size_t(c.n) + size_t(k)] = k % 4 == 1 ? INFINITY : 3.0f;
  }
  c.prob[0] = NAN;
  StarResult r = c.run(0.5f, 0.4f);
  EXPECT_EQ(r.candidates, 2);
  // The NaN/negative candidate has no area and is dropped; the infinite rays count as 0.
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_FLOAT_EQ(r.objects[0].score, 0.8f);
}

TEST(StarPostprocess, SparseRaysOfTheCandidatesGiveTheDenseResult) {
  SynthParams p;
  p.width = 200;
  p.height = 150;
  p.seed = 4;
  SynthResult s = synthesize_nuclei(p);
  ASSERT_TRUE(s.error.empty()) << s.error;
  const int n = 32, grid = 2;
  std::vector<float> dist = star_distances(s.labels, n, grid);
  std::vector<float> prob = ideal_prob(s.labels, dist, n, grid);
  const int gw = star_grid_size(s.labels.width, grid), gh = star_grid_size(s.labels.height, grid);
  StarParams params;
  // Rows of the candidates only, stored back to front so that row order and cell order differ.
  std::vector<uint32_t> rows(prob.size(), UINT32_MAX);
  std::vector<float> sparse;
  for (size_t i = prob.size(); i-- > 0;) {
    if (!(prob[i] > params.prob_thresh)) continue;
    rows[i] = uint32_t(sparse.size() / n);
    sparse.insert(sparse.end(), dist.begin() + long(i * n), dist.begin() + long((i + 1) * n));
  }
  ASSERT_LT(sparse.size(), dist.size() / 2);
  StarResult dense = star_postprocess(prob.data(), dist.data(), gw, gh, n, grid, p.width, p.height, params);
  StarResult rowed =
      star_postprocess(prob.data(), sparse.data(), gw, gh, n, grid, p.width, p.height, params, rows.data());
  EXPECT_GT(dense.objects.size(), 20u);
  EXPECT_EQ(dense.candidates, rowed.candidates);
  EXPECT_TRUE(dense.labels.data == rowed.labels.data);
}

StarResult expect_round_trip(const Labels& truth, int grid, const char* what) {
  const int n = 32;
  std::vector<float> dist = star_distances(truth, n, grid);
  std::vector<float> prob = ideal_prob(truth, dist, n, grid);
  const int gw = star_grid_size(truth.width, grid), gh = star_grid_size(truth.height, grid);
  StarResult r = star_postprocess(prob.data(), dist.data(), gw, gh, n, grid, truth.width, truth.height,
                                  StarParams{});
  MatchCounts m = match_labels(truth, r.labels, 0.5);
  EXPECT_EQ(m.fp, 0) << what << " grid " << grid;
  EXPECT_EQ(m.fn, 0) << what << " grid " << grid;
  EXPECT_DOUBLE_EQ(m.ap(), 1.0) << what << " grid " << grid;
  EXPECT_EQ(r.objects.size(), size_t(m.tp)) << what;
  // The polygons are not pixel-exact, but most objects should still match tightly.
  EXPECT_GT(match_labels(truth, r.labels, 0.75).ap(), 0.9) << what << " grid " << grid;
  return r;
}

TEST(StarPostprocess, StarDistancesToLabelsReproduceStarConvexObjects) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Labels truth = make_labels(160, 128);
    TestRng rng{seed};
    int placed = paint_star_objects(truth, rng, 30, 5, 14);
    ASSERT_GT(placed, 15);
    expect_round_trip(truth, 1, "harmonic shapes");
    expect_round_trip(truth, 2, "harmonic shapes");
  }
}

TEST(StarPostprocess, StarDistancesToLabelsReproduceSyntheticNuclei) {
  // synthesize_nuclei: touching star-convex nuclei as the page's sample shows them, without and with
  // overlaps (where the nucleus on top cuts the one below).
  SynthParams p;
  p.width = 256;
  p.height = 192;
  for (double overlap : {0.0, 0.15}) {
    p.overlap = overlap;
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      p.seed = seed;
      SynthResult s = synthesize_nuclei(p);
      ASSERT_TRUE(s.error.empty()) << s.error;
      ASSERT_GT(s.count, 20);
      expect_round_trip(s.labels, 1, "synthetic nuclei");
      expect_round_trip(s.labels, 2, "synthetic nuclei");
    }
  }
  // Large enough that the NMS loop works through several blocks of gathered candidates.
  p.width = p.height = 512;
  p.overlap = 0.15;
  p.seed = 9;
  SynthResult big = synthesize_nuclei(p);
  ASSERT_TRUE(big.error.empty()) << big.error;
  EXPECT_GT(expect_round_trip(big.labels, 1, "512x512 synthetic nuclei").candidates, 16384);
}

}  // namespace
}  // namespace celldrop

// Cellpose-style post-processing: flows from labels, dynamics, clustering, flow QC.
#include "core/flow.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/metrics.h"
#include "core/synth.h"

namespace celldrop {
namespace {

// Pixels whose centre lies inside the ellipse (axes a, b, rotated by `angle`) take `id`, overwriting.
void paint_ellipse(Labels& l, double cx, double cy, double a, double b, double angle, uint32_t id) {
  const double c = std::cos(angle), s = std::sin(angle);
  for (int y = 0; y < l.height; ++y)
    for (int x = 0; x < l.width; ++x) {
      const double dx = x - cx, dy = y - cy;
      const double u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
      if (u * u + v * v <= 1.0) l.at(x, y) = id;
    }
}

// A thick "C": an annulus with a gap on its right side, so its median position lies outside it.
void paint_c(Labels& l, double cx, double cy, double r_in, double r_out, uint32_t id) {
  for (int y = 0; y < l.height; ++y)
    for (int x = 0; x < l.width; ++x) {
      const double dx = x - cx, dy = y - cy, r = std::hypot(dx, dy);
      if (r >= r_in && r <= r_out && !(dx > 0 && std::fabs(dy) < r_in * 0.6)) l.at(x, y) = id;
    }
}

// The network's ideal output: flows from the labels, cell probability +1 inside and -1 outside.
std::vector<float> ideal_cellprob(const Labels& l) {
  std::vector<float> p(l.data.size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = l.data[i] ? 1.0f : -1.0f;
  return p;
}

Labels round_trip(const Labels& truth, const FlowParams& params = FlowParams()) {
  const FlowField flow = masks_to_flows(truth);
  const std::vector<float> prob = ideal_cellprob(truth);
  return flow_postprocess(prob.data(), flow, params);
}

SynthResult synth(uint64_t seed, int width, int height) {
  SynthParams sp;
  sp.seed = seed;
  sp.width = width;
  sp.height = height;
  return synthesize_nuclei(sp);
}

// A network's flows are not ideal: the ideal ones with each pixel's length scaled by 0.6..1.4 and
// each component moved by up to +-0.35 (a fixed-seed LCG, so the same on every machine).
FlowField noisy_flows(const Labels& labels, uint32_t seed) {
  FlowField f = masks_to_flows(labels);
  uint32_t state = seed;
  auto uniform = [&]() {
    state = state * 1664525u + 1013904223u;
    return double(state >> 8) / double(1u << 24);
  };
  for (size_t i = 0; i < labels.data.size(); ++i) {
    const double gain = 0.6 + 0.8 * uniform();
    f.dy()[i] = float(f.dy()[i] * gain + (uniform() - 0.5) * 0.7);
    f.dx()[i] = float(f.dx()[i] * gain + (uniform() - 0.5) * 0.7);
  }
  return f;
}

int count_objects(const Labels& l) {
  uint32_t m = 0;
  for (uint32_t v : l.data) m = std::max(m, v);
  return int(m);
}

TEST(Flow, MasksToFlowsGivesUnitVectorsPointingToTheCentre) {
  Labels l = make_labels(48, 40);
  paint_ellipse(l, 20, 18, 11, 11, 0, 7);
  const FlowField f = masks_to_flows(l);
  ASSERT_EQ(f.width, 48);
  ASSERT_EQ(f.height, 40);
  int checked = 0;
  for (int y = 0; y < l.height; ++y)
    for (int x = 0; x < l.width; ++x) {
      const size_t i = size_t(y) * 48 + size_t(x);
      const float dy = f.dy()[i], dx = f.dx()[i];
      if (!l.at(x, y)) {
        EXPECT_EQ(dy, 0.0f);
        EXPECT_EQ(dx, 0.0f);
        continue;
      }
      const double ty = 18 - y, tx = 20 - x, dist = std::hypot(ty, tx);
      if (dist < 1.5) continue;  // at the centre the gradient's direction is not meaningful
      EXPECT_NEAR(std::hypot(dy, dx), 1.0, 1e-4) << x << "," << y;
      // Within 30 degrees of the direction to the centre.
      EXPECT_GT((dy * ty + dx * tx) / dist, 0.86) << x << "," << y;
      ++checked;
    }
  EXPECT_GT(checked, 300);
}

TEST(Flow, HeatReachesEveryPixelOfANonConvexObject) {
  Labels l = make_labels(64, 64);
  paint_c(l, 32, 32, 12, 22, 1);
  const FlowField f = masks_to_flows(l);
  int zero = 0, total = 0;
  for (size_t i = 0; i < l.data.size(); ++i) {
    if (!l.data[i]) continue;
    ++total;
    if (std::hypot(f.dy()[i], f.dx()[i]) < 0.999) ++zero;
  }
  EXPECT_GT(total, 500);
  EXPECT_LE(zero, 1);  // only the centre pixel itself may have no direction
}

TEST(Flow, HeatReachesTheFarEndsOfALongThinObject) {
  // 3 x 201 px: the heat at the ends is ~1e-30 of the centre's, beyond what floats hold.
  Labels l = make_labels(220, 9);
  for (int x = 10; x <= 210; ++x)
    for (int y = 3; y <= 5; ++y) l.at(x, y) = 4;
  const FlowField f = masks_to_flows(l);
  for (int x = 10; x <= 210; ++x) {
    if (std::abs(x - 110) <= 1) continue;
    const size_t i = 4 * 220 + size_t(x);
    EXPECT_NEAR(std::hypot(f.dy()[i], f.dx()[i]), 1.0, 1e-4) << x;
    EXPECT_GT(f.dx()[i] * (110 - x), 0.0f) << x;  // along the object, toward its middle
  }
  const Labels out = round_trip(l);
  EXPECT_GE(match_labels(l, out, 0.9).tp, 1);
}

TEST(Flow, DynamicsMoveAtMostOnePixelPerStep) {
  Labels l = make_labels(60, 60);
  paint_ellipse(l, 30, 30, 25, 25, 0, 1);
  const FlowField f = masks_to_flows(l);
  std::vector<uint8_t> fg(l.data.size());
  for (size_t i = 0; i < fg.size(); ++i) fg[i] = l.data[i] != 0;
  const EndPoints e = follow_flows(f, fg, 3);
  ASSERT_EQ(e.pixel.size(), size_t(std::count(fg.begin(), fg.end(), 1)));
  double moved = 0;
  for (size_t k = 0; k < e.pixel.size(); ++k) {
    const double y0 = e.pixel[k] / 60, x0 = e.pixel[k] % 60;
    const double d = std::hypot(e.y[k] - y0, e.x[k] - x0);
    EXPECT_LE(d, 3.0 + 1e-4);
    moved += d;
  }
  EXPECT_GT(moved / double(e.pixel.size()), 2.0);  // not stuck: most pixels move ~3 px
  // With enough steps, every pixel ends near the centre.
  const EndPoints far = follow_flows(f, fg, 200);
  for (size_t k = 0; k < far.pixel.size(); ++k)
    EXPECT_LT(std::hypot(far.y[k] - 30, far.x[k] - 30), 2.5) << far.pixel[k];
}

TEST(Flow, FlowScaleDividesTheNetworkFlows) {
  Labels l = make_labels(40, 40);
  paint_ellipse(l, 20, 20, 12, 8, 0.3, 1);
  FlowField f = masks_to_flows(l);
  for (float& v : f.data) v *= 5.0f;
  const std::vector<float> prob = ideal_cellprob(l);
  FlowParams p;
  p.flow_scale = 5.0f;
  const Labels out = flow_postprocess(prob.data(), f, p);
  EXPECT_EQ(match_labels(l, out, 0.5).tp, 1);
  const std::vector<float> err = flow_errors(l, f, 5.0f);
  ASSERT_EQ(err.size(), 2u);
  EXPECT_LT(err[1], 1e-6);
}

TEST(Flow, FlowErrorsAreTheMeanSquaredDifferenceFromMasksToFlows) {
  // flow_errors works object by object; it must give, to the bit, the definition over the whole
  // image: the mean over each object's pixels of the squared difference from masks_to_flows.
  SynthParams sp;
  sp.width = 160;
  sp.height = 120;
  sp.seed = 7;
  sp.overlap = 0.15;
  const SynthResult s = synthesize_nuclei(sp);
  ASSERT_TRUE(s.error.empty()) << s.error;
  FlowField net = make_flow_field(sp.width, sp.height);
  uint32_t state = 99;
  for (float& v : net.data) {
    state = state * 1664525u + 1013904223u;
    v = float(int(state >> 8) % 2001 - 1000) / 400.0f;
  }
  const float scale = 2.5f;
  const FlowField ideal = masks_to_flows(s.labels);
  uint32_t top = 0;
  for (uint32_t v : s.labels.data) top = std::max(top, v);
  std::vector<double> sum(top + 1, 0.0);
  std::vector<size_t> n(top + 1, 0);
  for (size_t i = 0; i < s.labels.data.size(); ++i) {
    const uint32_t l = s.labels.data[i];
    if (!l) continue;
    const double ey = ideal.dy()[i] - net.dy()[i] * (1.0f / scale), ex = ideal.dx()[i] - net.dx()[i] * (1.0f / scale);
    sum[l] += ey * ey + ex * ex;
    ++n[l];
  }
  const std::vector<float> err = flow_errors(s.labels, net, scale);
  ASSERT_EQ(err.size(), size_t(top) + 1);
  ASSERT_GT(s.count, 10);
  for (uint32_t l = 1; l <= top; ++l) EXPECT_EQ(err[l], n[l] ? float(sum[l] / double(n[l])) : -1.0f) << "label " << l;
}

TEST(Flow, RoundTripDisksOfManySizes) {
  Labels l = make_labels(200, 120);
  uint32_t id = 1;
  const double radii[] = {3, 4, 6, 9, 14, 20, 30};
  double x = 6;
  for (double r : radii) {
    paint_ellipse(l, x + r, 60, r, r, 0, id++);
    x += 2 * r + 4;
  }
  const Labels out = round_trip(l);
  const MatchCounts m = match_labels(l, out, 0.5);
  EXPECT_EQ(m.tp, 7) << "fp " << m.fp << " fn " << m.fn;
  EXPECT_GE(m.ap(), 0.99);
  EXPECT_GE(match_labels(l, out, 0.9).ap(), 0.99);  // not just found: the same pixels
}

TEST(Flow, RoundTripTouchingEllipsesAndACShape) {
  Labels l = make_labels(160, 120);
  paint_ellipse(l, 30, 30, 18, 10, 0.4, 1);
  paint_ellipse(l, 52, 40, 14, 9, -0.7, 2);  // overlaps ellipse 1: touching objects
  paint_ellipse(l, 45, 62, 12, 12, 0, 3);    // touches both
  paint_ellipse(l, 70, 20, 8, 5, 1.2, 4);
  paint_c(l, 115, 70, 14, 26, 5);
  const Labels out = round_trip(l);
  const MatchCounts m = match_labels(l, out, 0.5);
  EXPECT_EQ(m.tp, 5) << "fp " << m.fp << " fn " << m.fn;
  EXPECT_GE(m.ap(), 0.99);
  EXPECT_GE(match_labels(l, out, 0.8).ap(), 0.99);
}

TEST(Flow, RoundTripKeepsObjectsCutByTheImageBorder) {
  Labels l = make_labels(64, 48);
  paint_ellipse(l, 0, 10, 12, 9, 0, 1);
  paint_ellipse(l, 63, 47, 14, 11, 0.5, 2);
  paint_ellipse(l, 30, 0, 10, 10, 0, 3);
  const Labels out = round_trip(l);
  EXPECT_GE(match_labels(l, out, 0.5).ap(), 0.99);
}

TEST(Flow, HolesAreFilledAndSizeLimitsApply) {
  Labels ring = make_labels(60, 60);
  paint_ellipse(ring, 30, 30, 20, 20, 0, 1);
  paint_ellipse(ring, 30, 30, 5, 5, 0, 0);  // a hole in the middle
  const Labels out = round_trip(ring);
  ASSERT_EQ(count_objects(out), 1);
  EXPECT_NE(out.at(30, 30), 0u);  // the hole is filled

  Labels small = make_labels(40, 40);
  paint_ellipse(small, 10, 10, 2, 2, 0, 1);   // 13 px: below the default min size of 15
  paint_ellipse(small, 28, 28, 6, 6, 0, 2);
  const Labels kept = round_trip(small);
  EXPECT_EQ(count_objects(kept), 1);
  EXPECT_EQ(kept.at(10, 10), 0u);
  EXPECT_NE(kept.at(28, 28), 0u);

  Labels big = make_labels(40, 40);
  paint_ellipse(big, 20, 20, 16, 16, 0, 1);  // ~50% of the image
  EXPECT_EQ(count_objects(round_trip(big)), 0);
  FlowParams allow;
  allow.max_size_fraction = 0.9f;
  EXPECT_EQ(count_objects(round_trip(big, allow)), 1);
}

TEST(Flow, QualityControlDropsAMaskWithScrambledFlows) {
  Labels l = make_labels(80, 40);
  paint_ellipse(l, 20, 20, 12, 12, 0, 1);
  paint_ellipse(l, 58, 20, 12, 12, 0, 2);
  FlowField f = masks_to_flows(l);
  // Object 2's flows become unit vectors in arbitrary directions (a fixed LCG, so the test is stable).
  uint32_t state = 12345;
  for (size_t i = 0; i < l.data.size(); ++i) {
    if (l.data[i] != 2) continue;
    state = state * 1664525u + 1013904223u;
    const double a = double(state >> 8) / double(1u << 24) * 2.0 * M_PI;
    f.dy()[i] = float(std::sin(a));
    f.dx()[i] = float(std::cos(a));
  }
  const std::vector<float> err = flow_errors(l, f);
  ASSERT_EQ(err.size(), 3u);
  EXPECT_LT(err[1], 1e-6);
  EXPECT_GT(err[2], 0.4);

  const std::vector<float> prob = ideal_cellprob(l);
  const Labels out = flow_postprocess(prob.data(), f, FlowParams());
  EXPECT_GE(match_labels(l, out, 0.9).tp, 1);  // object 1 intact
  int object2_labelled = 0, object2_pixels = 0;
  for (size_t i = 0; i < l.data.size(); ++i)
    if (l.data[i] == 2) {
      ++object2_pixels;
      object2_labelled += out.data[i] != 0;
    }
  EXPECT_LT(object2_labelled, object2_pixels / 10);
}

TEST(Flow, RoundTripSyntheticNuclei) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    const SynthResult s = synth(seed, 256, 256);
    ASSERT_TRUE(s.error.empty()) << s.error;
    ASSERT_GT(s.count, 20);
    const Labels out = round_trip(s.labels);
    const MatchCounts m = match_labels(s.labels, out, 0.5);
    EXPECT_GE(m.ap(), 0.99) << "seed " << seed << ": tp " << m.tp << " fp " << m.fp << " fn " << m.fn;
  }
}

TEST(Flow, NonFiniteNetworkOutputsAreHarmless) {
  Labels l = make_labels(50, 40);
  paint_ellipse(l, 15, 20, 9, 9, 0, 1);
  paint_ellipse(l, 36, 20, 9, 9, 0, 2);
  FlowField f = masks_to_flows(l);
  std::vector<float> prob = ideal_cellprob(l);
  for (size_t i = 0; i < l.data.size(); i += 7) {
    if (l.data[i] != 2) continue;
    f.dy()[i] = std::nanf("");
    f.dx()[i] = INFINITY;
  }
  prob[0] = std::nanf("");  // background either way
  FlowParams p;
  p.flow_threshold = 0;  // the NaN flows would (rightly) fail the QC; here only the dynamics matter
  const Labels out = flow_postprocess(prob.data(), f, p);
  EXPECT_GE(match_labels(l, out, 0.5).tp, 2);
  EXPECT_EQ(out.data[0], 0u);
  // With the QC on, the object whose flows are partly not numbers has no valid flow error: dropped.
  const Labels checked = flow_postprocess(prob.data(), f, FlowParams());
  EXPECT_EQ(count_objects(checked), 1);
  EXPECT_NE(checked.at(15, 20), 0u);
}

TEST(Flow, NoisyFlowsStillGiveTheObjects) {
  // The masks should still be found in flows as a network gives them, and still pass the QC.
  const SynthResult s = synth(5, 256, 256);
  ASSERT_TRUE(s.error.empty()) << s.error;
  const FlowField f = noisy_flows(s.labels, 99);
  const std::vector<float> prob = ideal_cellprob(s.labels);
  const Labels out = flow_postprocess(prob.data(), f, FlowParams());
  const MatchCounts m = match_labels(s.labels, out, 0.5);
  EXPECT_GE(m.ap(), 0.99) << "tp " << m.tp << " fp " << m.fp << " fn " << m.fn;
}

// The pipeline's variant masks the field in place and frees buffers early; its labels must be
// flow_postprocess's exactly, whatever the field holds: a flow scale, noise, and values that are not
// numbers (with the QC on, the object holding them must be dropped by both).
TEST(Flow, OwnedBuffersGiveTheSameLabels) {
  const SynthResult s = synth(7, 200, 160);
  ASSERT_TRUE(s.error.empty()) << s.error;
  FlowField f = noisy_flows(s.labels, 3);
  for (float& v : f.data) v *= 5.0f;
  const uint32_t poisoned = s.labels.at(100, 80) ? s.labels.at(100, 80) : 1;
  for (size_t i = 0; i < s.labels.data.size(); i += 3)
    if (s.labels.data[i] == poisoned) f.dy()[i] = std::nanf("");
  std::vector<float> prob = ideal_cellprob(s.labels);
  for (float threshold : {0.0f, 0.4f}) {
    FlowParams p;
    p.flow_scale = 5.0f;
    p.flow_threshold = threshold;
    const Labels expected = flow_postprocess(prob.data(), f, p);
    const Labels got = flow_postprocess_owned(f, flow_foreground(prob.data(), prob.size(), p), p);
    EXPECT_GT(count_objects(expected), 10);
    EXPECT_EQ(got.width, expected.width);
    EXPECT_EQ(got.height, expected.height);
    EXPECT_TRUE(got.data == expected.data) << "flow threshold " << threshold;
  }
}

TEST(Flow, EmptyInputsGiveEmptyLabels) {
  Labels l = make_labels(16, 12);
  const Labels out = round_trip(l);
  EXPECT_EQ(out.width, 16);
  EXPECT_EQ(out.height, 12);
  EXPECT_EQ(count_objects(out), 0);
}

TEST(Flow, NiterScalesWithDiameter) {
  EXPECT_EQ(flow_niter_for_diameter(30, 30), 200);
  EXPECT_EQ(flow_niter_for_diameter(15, 30), 100);
  EXPECT_EQ(flow_niter_for_diameter(0.01, 30), 1);
  EXPECT_EQ(flow_niter_for_diameter(0, 30), 200);  // unknown diameter: the default
}

}  // namespace
}  // namespace celldrop

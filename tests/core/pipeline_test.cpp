// The pipeline against fake networks:
// - oracles that read the synthetic ground truth through each tile's coordinates (rescaled as the
//   pipeline rescales) and answer what a perfect network would (star: an interior-distance
//   probability and exact ray distances; flow: +/-5 logits and flow_scale x heat-diffusion flows),
//   so the pipeline must reproduce the ground truth at the original size;
// - local filters of the tile's own pixels (translation-equivariant, receptive field 2 px), so tiled
//   and untiled runs must agree bit for bit.
#include "core/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/flow.h"
#include "core/json.h"
#include "core/labels.h"
#include "core/metrics.h"
#include "core/normalize.h"
#include "core/resize.h"
#include "core/star.h"
#include "core/synth.h"
#include "stain_mix.h"

using namespace celldrop;

namespace {

ModelCard star_card() {
  ModelCard c;
  c.name = "test-star";
  c.kind = ModelKind::Star;
  c.input.channels = 1;
  c.input.divisor = 8;
  c.diameter = 20.0;
  c.star.n_rays = 32;
  c.star.grid = 2;
  c.star.prob_threshold = 0.5;
  c.star.nms_threshold = 0.4;
  c.outputs = {{"prob", 1, 2}, {"dist", 32, 2}};
  return c;
}

ModelCard flow_card() {
  ModelCard c;
  c.name = "test-flow";
  c.kind = ModelKind::Flow;
  c.input.channels = 1;
  c.input.divisor = 8;
  c.diameter = 20.0;
  c.flow.flow_scale = 5.0;
  c.flow.reference_niter = 200;
  c.flow.cellprob_threshold = 0.0;
  c.flow.flow_threshold = 0.4;
  c.outputs = {{"flow", 2, 1}, {"cellprob", 1, 1}};  // not the usual order: outputs follow the card
  return c;
}

SynthResult nuclei(int w, int h, double diameter, uint64_t seed) {
  SynthParams p;
  p.seed = seed;
  p.width = w;
  p.height = h;
  p.mean_diameter = diameter;
  p.diameter_spread = 0.15;
  p.density = 0.3;
  SynthResult s = synthesize_nuclei(p);
  EXPECT_TRUE(s.error.empty()) << s.error;
  return s;
}

// StarDist's probability target: chamfer (3-4) distance to the nearest pixel of another label,
// normalised to 1 at each object's most interior pixel.
std::vector<float> interior_probability(const Labels& l) {
  const int w = l.width, h = l.height;
  const int big = 1 << 29;
  std::vector<int> d(size_t(w) * h);
  auto lab = [&](int x, int y) { return (x < 0 || y < 0 || x >= w || y >= h) ? l.at(std::clamp(x, 0, w - 1), std::clamp(y, 0, h - 1)) : l.at(x, y); };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint32_t v = l.at(x, y);
      bool border = v == 0 || lab(x - 1, y) != v || lab(x + 1, y) != v || lab(x, y - 1) != v || lab(x, y + 1) != v;
      d[size_t(y) * w + x] = border ? (v ? 3 : 0) : big;
    }
  auto relax = [&](int x, int y, int nx, int ny, int cost) {
    if (nx < 0 || ny < 0 || nx >= w || ny >= h) return;
    int& a = d[size_t(y) * w + x];
    a = std::min(a, d[size_t(ny) * w + nx] + cost);
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      relax(x, y, x - 1, y, 3); relax(x, y, x, y - 1, 3); relax(x, y, x - 1, y - 1, 4); relax(x, y, x + 1, y - 1, 4);
    }
  for (int y = h - 1; y >= 0; --y)
    for (int x = w - 1; x >= 0; --x) {
      relax(x, y, x + 1, y, 3); relax(x, y, x, y + 1, 3); relax(x, y, x + 1, y + 1, 4); relax(x, y, x - 1, y + 1, 4);
    }
  std::map<uint32_t, int> peak;
  for (size_t i = 0; i < d.size(); ++i)
    if (l.data[i]) peak[l.data[i]] = std::max(peak[l.data[i]], d[i]);
  std::vector<float> p(d.size(), 0.0f);
  for (size_t i = 0; i < d.size(); ++i)
    if (l.data[i]) p[i] = float(d[i]) / float(peak[l.data[i]]);
  return p;
}

// A perfect network: the ground truth rescaled to the tile's pass scale, read through its coordinates.
struct Oracle {
  Labels truth;
  ModelCard card;
  double scale = -1.0;
  int nw = 0, nh = 0, gw = 0, gh = 0;
  std::vector<float> prob, dist, cellprob;
  FlowField flow;
  int calls = 0;

  void prepare(double s) {
    if (s == scale) return;
    scale = s;
    nw = scaled_size(truth.width, s);
    nh = scaled_size(truth.height, s);
    Labels l = resize_labels_nearest(truth, nw, nh);
    if (card.kind == ModelKind::Star) {
      const int g = card.star.grid;
      gw = star_grid_size(nw, g);
      gh = star_grid_size(nh, g);
      std::vector<float> full = interior_probability(l);
      prob.assign(size_t(gw) * gh, 0.0f);
      for (int y = 0; y < gh; ++y)
        for (int x = 0; x < gw; ++x) prob[size_t(y) * gw + x] = full[size_t(y * g) * nw + x * g];
      dist = star_distances(l, card.star.n_rays, g);
    } else {
      flow = masks_to_flows(l);
      for (float& v : flow.data) v *= float(card.flow.flow_scale);
      cellprob.resize(l.data.size());
      for (size_t i = 0; i < l.data.size(); ++i) cellprob[i] = l.data[i] ? 5.0f : -5.0f;
    }
  }

  bool operator()(const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    ++calls;
    prepare(t.scale);
    outs->resize(card.outputs.size());
    for (size_t k = 0; k < card.outputs.size(); ++k) {
      const ModelOutput& o = card.outputs[k];
      NetworkOutput& out = (*outs)[k];
      out.channels = o.channels;
      out.height = t.height / o.grid;
      out.width = t.width / o.grid;
      out.data.assign(size_t(out.channels) * out.height * out.width, 0.0f);
      const size_t plane = size_t(out.height) * out.width;
      for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
          const int X = t.x / o.grid + x, Y = t.y / o.grid + y;  // in the whole (grid) image
          const size_t local = size_t(y) * out.width + x;
          if (o.name == "prob" || o.name == "dist") {
            if (X >= gw || Y >= gh) continue;  // padding: cropped by the pipeline
            const size_t cell = size_t(Y) * gw + X;
            if (o.name == "prob") out.data[local] = prob[cell];
            else
              for (int r = 0; r < o.channels; ++r) out.data[r * plane + local] = dist[cell * o.channels + r];
          } else {
            if (X >= nw || Y >= nh) continue;
            const size_t p = size_t(Y) * nw + X;
            if (o.name == "cellprob") out.data[local] = cellprob[p];
            else {
              out.data[local] = flow.dy()[p];
              out.data[plane + local] = flow.dx()[p];
            }
          }
        }
      }
    }
    return true;
  }
};

NetworkFn as_network(Oracle* o) {
  return [o](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string* e) { return (*o)(t, outs, e); };
}

// A translation-equivariant local network: every output reads the 5x5 mean of the tile's input
// around its pixel (zero outside the tile, like a convolution's padding).
bool local_filter(const ModelCard& card, const NetworkTile& t, std::vector<NetworkOutput>* outs) {
  auto mean = [&](int x, int y) {
    double s = 0;
    for (int dy = -2; dy <= 2; ++dy)
      for (int dx = -2; dx <= 2; ++dx) {
        int xx = x + dx, yy = y + dy;
        if (xx >= 0 && yy >= 0 && xx < t.width && yy < t.height) s += t.data[size_t(yy) * t.width + xx];
      }
    return float(s / 25.0);
  };
  outs->resize(card.outputs.size());
  for (size_t k = 0; k < card.outputs.size(); ++k) {
    const ModelOutput& o = card.outputs[k];
    NetworkOutput& out = (*outs)[k];
    out.channels = o.channels;
    out.height = t.height / o.grid;
    out.width = t.width / o.grid;
    out.data.resize(size_t(out.channels) * out.height * out.width);
    const size_t plane = size_t(out.height) * out.width;
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x) {
        const int px = x * o.grid, py = y * o.grid;
        const float m = mean(px, py);
        const size_t local = size_t(y) * out.width + x;
        if (o.name == "prob") out.data[local] = std::min(1.0f, std::max(0.0f, m));
        if (o.name == "dist")
          for (int r = 0; r < o.channels; ++r) out.data[r * plane + local] = 3.0f + 5.0f * m + 0.05f * float(r % 4);
        if (o.name == "cellprob") out.data[local] = 10.0f * (m - 0.3f);
        if (o.name == "flow") {  // unit steps up the local intensity gradient, at flow_scale 5
          const float gy = mean(px, py + 2) - mean(px, py - 2), gx = mean(px + 2, py) - mean(px - 2, py);
          const float n = std::sqrt(gy * gy + gx * gx) + 1e-3f;
          out.data[local] = 5.0f * gy / n;
          out.data[plane + local] = 5.0f * gx / n;
        }
      }
  }
  return true;
}

double ap50(const Labels& gt, const Labels& pred) { return match_labels(gt, pred, 0.5).ap(); }

PipelineResult run_ok(const Image& img, const ModelCard& card, const NetworkFn& net, const PipelineParams& p) {
  PipelineResult r;
  std::string error;
  EXPECT_TRUE(run_pipeline(img, card, net, p, &r, &error)) << error;
  return r;
}

}  // namespace

TEST(Pipeline, MedianObjectDiameter) {
  Labels l;
  l.width = 10;
  l.height = 10;
  l.data.assign(100, 0);
  EXPECT_EQ(median_object_diameter(l), 0.0);
  for (int i = 0; i < 4; ++i) l.data[i] = 5;    // area 4
  for (int i = 10; i < 19; ++i) l.data[i] = 9;  // area 9
  const double d4 = 2 * std::sqrt(4 / 3.14159265358979323846), d9 = 2 * std::sqrt(9 / 3.14159265358979323846);
  EXPECT_NEAR(median_object_diameter(l), 0.5 * (d4 + d9), 1e-12);
  l.data[50] = 2;  // area 1: the median is now the middle one
  EXPECT_NEAR(median_object_diameter(l), d4, 1e-12);
}

TEST(Pipeline, StarOracleReproducesTruth) {
  SynthResult s = nuclei(192, 160, 20.0, 3);
  Oracle o{s.labels, star_card()};
  PipelineParams p;
  p.diameter = 20.0;
  PipelineResult r = run_ok(s.image, o.card, as_network(&o), p);
  EXPECT_EQ(r.labels.width, 192);
  EXPECT_EQ(r.labels.height, 160);
  EXPECT_EQ(r.scale, 1.0);
  EXPECT_EQ(r.passes, 1);
  EXPECT_EQ(r.tiles, 1);
  EXPECT_GE(ap50(s.labels, r.labels), 0.95) << r.count << " of " << s.count;
  EXPECT_EQ(r.prob_threshold, 0.5);
  EXPECT_EQ(r.percentile_high, 99.8);
  ASSERT_EQ(r.levels.size(), 1u);
  EXPECT_LT(r.levels[0].low, r.levels[0].high);
}

TEST(Pipeline, AutomaticDiameterFindsLargeNucleiStar) {
  SynthResult s = nuclei(256, 224, 40.0, 5);  // nuclei twice the card's 20 px
  const double truth = median_object_diameter(s.labels);
  Oracle o{s.labels, star_card()};
  PipelineParams p;  // diameter 0: automatic
  p.tile_size = 128;
  p.overlap = 16;
  std::vector<PipelineProgress> seen;
  p.progress = [&](const PipelineProgress& pr) { seen.push_back(pr); };
  PipelineResult r = run_ok(s.image, o.card, as_network(&o), p);
  EXPECT_TRUE(r.diameter_estimated);
  EXPECT_NEAR(r.diameter, truth, 0.1 * truth);
  EXPECT_EQ(r.passes, 2);
  EXPECT_NEAR(r.scale, 20.0 / r.diameter, 1e-12);
  EXPECT_EQ(r.network_width, scaled_size(256, r.scale));
  EXPECT_GE(ap50(s.labels, r.labels), 0.95) << r.count << " of " << s.count;
  EXPECT_TRUE(r.note.empty()) << r.note;
  // Progress: both passes, every stage, the tile counter ending at the tile count.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().stage, PipelineStage::Normalize);
  EXPECT_EQ(seen.back().stage, PipelineStage::Postprocess);
  EXPECT_EQ(seen.back().pass, 2);
  int last_tiles = 0;
  for (const auto& pr : seen) {
    EXPECT_EQ(pr.passes, 2);
    if (pr.stage == PipelineStage::Inference && pr.tile == pr.tiles) last_tiles += pr.tiles;
  }
  EXPECT_EQ(last_tiles, r.tiles);
  EXPECT_EQ(r.tiles, o.calls);
  EXPECT_GE(r.timings.total, r.timings.inference);
}

TEST(Pipeline, AutomaticDiameterNearTheCardsKeepsTheFirstPass) {
  // Within 15% of the card's diameter the first pass (scale 1) is the result; beyond, a second pass.
  for (double diameter : {22.0, 27.0}) {
    SynthResult s = nuclei(256, 224, diameter, 5);
    Oracle o{s.labels, star_card()};
    PipelineResult r = run_ok(s.image, o.card, as_network(&o), PipelineParams());
    const double factor = 20.0 / r.diameter;
    EXPECT_TRUE(r.diameter_estimated);
    EXPECT_EQ(r.passes, std::fabs(factor - 1.0) <= 0.15 ? 1 : 2) << "estimate " << r.diameter;
    EXPECT_EQ(r.passes, diameter < 25.0 ? 1 : 2) << "estimate " << r.diameter;
    EXPECT_EQ(r.scale, r.passes == 1 ? 1.0 : factor);
    EXPECT_GE(ap50(s.labels, r.labels), 0.95) << r.count << " of " << s.count;
  }
}

TEST(Pipeline, FlowOracleReproducesTruthAtAutomaticScale) {
  SynthResult s = nuclei(256, 224, 40.0, 7);
  const double truth = median_object_diameter(s.labels);
  Oracle o{s.labels, flow_card()};
  PipelineParams p;
  PipelineResult r = run_ok(s.image, o.card, as_network(&o), p);
  EXPECT_NEAR(r.diameter, truth, 0.1 * truth);
  EXPECT_EQ(r.passes, 2);
  EXPECT_EQ(r.niter, 200);  // objects at the card's diameter after rescaling
  EXPECT_GE(ap50(s.labels, r.labels), 0.95) << r.count << " of " << s.count;

  // And with the diameter given: one pass at the card's scale.
  PipelineParams given;
  given.diameter = 40.0;
  PipelineResult g = run_ok(s.image, o.card, as_network(&o), given);
  EXPECT_EQ(g.passes, 1);
  EXPECT_FALSE(g.diameter_estimated);
  EXPECT_DOUBLE_EQ(g.scale, 0.5);
  EXPECT_GE(ap50(s.labels, g.labels), 0.95);
}

TEST(Pipeline, TiledEqualsUntiledWithOracles) {
  SynthResult s = nuclei(600, 360, 20.0, 11);
  for (ModelCard card : {star_card(), flow_card()}) {
    Oracle o{s.labels, card};
    PipelineParams whole;
    whole.diameter = 25.0;  // scale 0.8: tiles over a rescaled image
    whole.tile_size = 1024;
    PipelineParams tiled = whole;
    tiled.tile_size = 128;
    tiled.overlap = 16;
    PipelineResult a = run_ok(s.image, card, as_network(&o), whole);
    PipelineResult b = run_ok(s.image, card, as_network(&o), tiled);
    EXPECT_EQ(a.tiles, 1);
    EXPECT_GT(b.tiles, 12);
    EXPECT_GT(a.count, 50);
    EXPECT_EQ(a.count, b.count);
    EXPECT_TRUE(a.labels.data == b.labels.data) << model_kind_name(card.kind);
  }
}

TEST(Pipeline, TiledEqualsUntiledWithLocalNetworks) {
  SynthResult s = nuclei(600, 360, 20.0, 13);
  for (ModelCard card : {star_card(), flow_card()}) {
    NetworkFn net = [&card](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
      return local_filter(card, t, outs);
    };
    PipelineParams whole;
    whole.diameter = 20.0;
    whole.tile_size = 1024;
    whole.keep_maps = true;
    whole.flow_threshold = 0.0;  // these flows are no heat-diffusion flows: no QC
    PipelineParams tiled = whole;
    tiled.tile_size = 128;
    tiled.overlap = 16;
    PipelineResult a = run_ok(s.image, card, net, whole);
    PipelineResult b = run_ok(s.image, card, net, tiled);
    EXPECT_EQ(a.tiles, 1);
    // 600 x 360 in tiles of 128 kept 16 px from shared edges: 6 x 4 tiles.
    EXPECT_EQ(b.tiles, 24);
    EXPECT_GT(a.count, 10) << model_kind_name(card.kind);
    EXPECT_TRUE(a.labels.data == b.labels.data) << model_kind_name(card.kind);
    EXPECT_TRUE(a.maps.prob == b.maps.prob);
    EXPECT_TRUE(a.maps.dist == b.maps.dist);
    EXPECT_TRUE(a.maps.cellprob == b.maps.cellprob);
    EXPECT_TRUE(a.maps.flow.data == b.maps.flow.data);
    // Without kept maps a star run stores only its candidates' rays (sparse): the same labels.
    PipelineParams sparse = tiled;
    sparse.keep_maps = false;
    EXPECT_TRUE(run_ok(s.image, card, net, sparse).labels.data == a.labels.data) << model_kind_name(card.kind);
    // A margin smaller than the receptive field must show seams: the test can fail.
    PipelineParams seams = tiled;
    seams.overlap = 0;
    PipelineResult c = run_ok(s.image, card, net, seams);
    EXPECT_FALSE(a.maps.prob == c.maps.prob && a.maps.cellprob == c.maps.cellprob);
  }
}

TEST(Pipeline, NetworkInputIsNormalisedAndRescaled) {
  SynthResult s = nuclei(100, 60, 20.0, 17);
  ModelCard card = star_card();
  std::vector<float> seen;
  int tw = 0, th = 0;
  NetworkFn net = [&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    seen.assign(t.data, t.data + size_t(t.width) * t.height);
    tw = t.width;
    th = t.height;
    return local_filter(card, t, outs);
  };
  PipelineParams p;
  p.diameter = 40.0;  // scale 0.5: 50 x 30, padded to 56 x 32
  run_ok(s.image, card, net, p);
  ASSERT_EQ(tw, 56);
  ASSERT_EQ(th, 32);
  Image norm;
  std::string error;
  ASSERT_TRUE(prepare_network_input(s.image, ChannelSelection(), PercentileRange(), &norm, nullptr, &error));
  std::vector<float> ref(50 * 30);
  resize_bilinear(samples<float>(norm), 100, 60, ref.data(), 50, 30);
  for (int y = 0; y < th; ++y) {
    for (int x = 0; x < tw; ++x) {
      // Padding reflects the last rows and columns without repeating them.
      int sx = x < 50 ? x : 2 * 49 - x, sy = y < 30 ? y : 2 * 29 - y;
      ASSERT_NEAR(seen[size_t(y) * tw + x], ref[size_t(sy) * 50 + sx], 1e-5) << x << "," << y;
    }
  }
}

// invert shows the network the negative: 1 - the normalised image. So the negative of a picture,
// inverted, is the picture itself to the network (exactly, with percentiles 0 and 100, which
// inverting the samples swaps), and its labels and background are the picture's.
TEST(Pipeline, InvertShowsTheNetworkTheNegative) {
  SynthResult s = nuclei(200, 120, 20.0, 17);
  ASSERT_EQ(s.image.type, SampleType::U16);
  Image negative = s.image;
  for (size_t i = 0; i < negative.sample_count(); ++i) samples<uint16_t>(negative)[i] = uint16_t(65535 - samples<uint16_t>(s.image)[i]);
  ModelCard card = star_card();
  std::string error;
  ASSERT_TRUE(json_parse(R"({"modality": "fluorescence"})", &card.training, &error)) << error;
  std::vector<float> seen;
  NetworkFn net = [&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    seen.assign(t.data, t.data + size_t(t.width) * t.height);
    return local_filter(card, t, outs);
  };
  PipelineParams p;
  p.diameter = 20.0;
  p.percentile_low = 0.0;
  p.percentile_high = 100.0;
  const PipelineResult plain = run_ok(s.image, card, net, p);
  const std::vector<float> plain_seen = seen;
  EXPECT_GT(plain.count, 5);
  EXPECT_EQ(plain.background, Background::Dark);
  EXPECT_FALSE(plain.invert);
  EXPECT_EQ(plain.note, "");

  const PipelineResult wrong = run_ok(negative, card, net, p);  // the negative as it is: a mismatch, said
  EXPECT_EQ(wrong.background, Background::Bright);
  EXPECT_EQ(wrong.note.rfind("this looks like a stained or brightfield image", 0), 0u) << wrong.note;
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_NEAR(seen[i], 1.0f - plain_seen[i], 1e-6f) << i;

  p.invert = true;
  const PipelineResult r = run_ok(negative, card, net, p);
  EXPECT_TRUE(r.invert);
  EXPECT_EQ(seen, plain_seen);
  EXPECT_EQ(r.labels.data, plain.labels.data);
  EXPECT_EQ(r.background, Background::Dark);
  EXPECT_EQ(r.note, "");

  const PipelineResult twice = run_ok(s.image, card, net, p);  // the picture itself inverted: said too
  EXPECT_EQ(twice.background, Background::Bright);
  EXPECT_EQ(twice.note.rfind("inverted, this image looks like a stained or brightfield image", 0), 0u) << twice.note;
}

TEST(Pipeline, CancellationStopsBetweenTiles) {
  SynthResult s = nuclei(400, 300, 20.0, 19);
  ModelCard card = star_card();
  int calls = 0;
  NetworkFn net = [&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    ++calls;
    return local_filter(card, t, outs);
  };
  PipelineParams p;
  p.diameter = 20.0;
  p.tile_size = 64;
  p.overlap = 8;
  p.cancel = [&] { return calls >= 3; };
  PipelineResult r;
  std::string error;
  EXPECT_FALSE(run_pipeline(s.image, card, net, p, &r, &error));
  EXPECT_EQ(error, "cancelled");
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(calls, 3);
  // Cancelled before anything ran.
  calls = 0;
  p.cancel = [] { return true; };
  EXPECT_FALSE(run_pipeline(s.image, card, net, p, &r, &error));
  EXPECT_EQ(error, "cancelled");
  EXPECT_EQ(calls, 0);
}

TEST(Pipeline, WrongNetworkOutputsGiveClearErrors) {
  SynthResult s = nuclei(96, 64, 20.0, 23);
  ModelCard card = star_card();
  PipelineParams p;
  p.diameter = 20.0;
  auto run_err = [&](const NetworkFn& net) {
    PipelineResult r;
    std::string error;
    EXPECT_FALSE(run_pipeline(s.image, card, net, p, &r, &error));
    return error;
  };
  EXPECT_EQ(run_err([&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
              local_filter(card, t, outs);
              (*outs)[1].channels = 16;
              (*outs)[1].data.resize((*outs)[1].data.size() / 2);
              return true;
            }),
            "the network's output \"dist\" for tile 1 of 1 is 16 x 32 x 48 (channels x height x width); the "
            "model card expects 32 x 32 x 48 for a 64 x 96 tile (grid 2)");
  EXPECT_EQ(run_err([&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
              local_filter(card, t, outs);
              (*outs)[0].data.pop_back();
              return true;
            }),
            "the network's output \"prob\" for tile 1 of 1 holds 1535 values, not 1 x 32 x 48 = 1536");
  EXPECT_EQ(run_err([&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
              local_filter(card, t, outs);
              outs->pop_back();
              return true;
            }),
            "the network returned 1 outputs for tile 1 of 1; the model card lists 2 (prob, dist)");
  EXPECT_EQ(run_err([&](const NetworkTile&, std::vector<NetworkOutput>*, std::string* e) {
              *e = "out of memory";
              return false;
            }),
            "the network failed on tile 1 of 1: out of memory");
}

// An RGB model reads an RGBA image's colours and a grey image's one channel three times, as it would
// read the same picture saved as RGB: the network sees the same tiles and the labels are the same.
TEST(Pipeline, AnRgbModelReadsRgbaAndGreyImagesAsTheirRgbSelves) {
  ModelCard card = star_card();
  card.input.channels = 3;
  SynthResult s = nuclei(96, 80, 20.0, 31);
  std::vector<std::vector<float>> seen;
  NetworkFn net = [&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    EXPECT_EQ(t.channels, 3);
    const size_t plane = size_t(t.width) * size_t(t.height);
    seen.emplace_back(t.data, t.data + 3 * plane);
    // The filter reads channel 2 (green) only: the tile seen as one channel.
    NetworkTile green = t;
    green.channels = 1;
    green.data = t.data + plane;
    return local_filter(card, green, outs);
  };
  auto run = [&](const Image& img, PipelineResult* r) {
    seen.clear();
    PipelineParams p;
    p.diameter = 20.0;
    std::string error;
    EXPECT_TRUE(run_pipeline(img, card, net, p, r, &error)) << error;
    return seen;
  };
  // The picture as RGB: channel i = the nuclei image scaled by (i + 1), so the channels differ.
  const uint16_t* grey = samples<uint16_t>(s.image);
  const size_t n = size_t(s.image.width) * s.image.height;
  Image rgb = make_image(s.image.width, s.image.height, 3, SampleType::U16);
  Image rgba = make_image(s.image.width, s.image.height, 4, SampleType::U16);
  Image grey3 = make_image(s.image.width, s.image.height, 3, SampleType::U16);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < 3; c++) {
      const uint16_t v = uint16_t(std::min(65535, int(grey[i]) * (c + 1) / 4));
      samples<uint16_t>(rgb)[i * 3 + c] = v;
      samples<uint16_t>(rgba)[i * 4 + c] = v;
      samples<uint16_t>(grey3)[i * 3 + c] = grey[i];
    }
    samples<uint16_t>(rgba)[i * 4 + 3] = uint16_t(i % 7 == 0 ? 0 : 65535);  // alpha: never a colour
  }
  PipelineResult want, got;
  const auto tiles_rgb = run(rgb, &want);
  ASSERT_GT(want.count, 3);
  EXPECT_EQ(want.note, "");
  EXPECT_EQ(run(rgba, &got), tiles_rgb);
  EXPECT_EQ(got.labels.data, want.labels.data);
  EXPECT_EQ(got.note, "the model reads channels 1-3 of the image's 4 (red, green, blue; alpha left out)");

  const auto tiles_grey3 = run(grey3, &want);
  EXPECT_EQ(run(s.image, &got), tiles_grey3);
  EXPECT_EQ(got.labels.data, want.labels.data);
  EXPECT_EQ(got.note, "the model reads colour; this one-channel image gave its channel to red, green and blue");

  // Two channels are no picture: the user says which to use.
  PipelineResult r;
  std::string error;
  PipelineParams p;
  p.diameter = 20.0;
  EXPECT_FALSE(run_pipeline(make_image(32, 32, 2, SampleType::U8), card, net, p, &r, &error));
  EXPECT_EQ(error, "the model takes 3 input channels but the image has 2: choose the channels");
}

TEST(Pipeline, ParameterErrors) {
  SynthResult s = nuclei(64, 64, 20.0, 29);
  ModelCard card = star_card();
  NetworkFn net = [&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    return local_filter(card, t, outs);
  };
  auto run_err = [&](const Image& img, const PipelineParams& p) {
    PipelineResult r;
    std::string error;
    EXPECT_FALSE(run_pipeline(img, card, net, p, &r, &error));
    return error;
  };
  PipelineParams p;
  p.diameter = 20.0;
  Image rgb = make_image(32, 32, 3, SampleType::U8);
  PipelineParams two = p;
  two.channels.channels = {0, 2};
  EXPECT_EQ(run_err(rgb, two), "the model takes 1 input channel but the channel selection gives 2: choose one channel, or merge them");
  // Given no selection, a one-channel model reads the mean of the channels, as with merge.
  PipelineResult r, merged_r;
  std::string error;
  EXPECT_TRUE(run_pipeline(rgb, card, net, p, &r, &error)) << error;
  EXPECT_TRUE(r.channels.merge);
  PipelineParams merged = p;
  merged.channels.merge = true;
  EXPECT_TRUE(run_pipeline(rgb, card, net, merged, &merged_r, &error)) << error;
  EXPECT_EQ(r.labels.data, merged_r.labels.data);
  PipelineParams bad = p;
  bad.tile_size = 4;
  EXPECT_EQ(run_err(s.image, bad), "tile size 4 px is below the model's input divisor (8 px)");
  bad = p;
  bad.tile_size = 32;
  bad.overlap = 16;
  EXPECT_EQ(run_err(s.image, bad), "tile size 32 px leaves nothing between overlaps of 16 px on each side: use "
                                   "tiles larger than 32 px or a smaller overlap");
  bad = p;
  bad.percentile_low = 99.9;
  EXPECT_EQ(run_err(s.image, bad), "percentiles 99.9 and 99.8 must satisfy 0 <= low < high <= 100");
  bad = p;
  bad.diameter = 0.01;
  bad.max_network_pixels = 1 << 20;
  EXPECT_NE(run_err(s.image, bad).find("more than the limit of 1048576 px"), std::string::npos);
  bad = p;
  bad.diameter = -3;
  EXPECT_EQ(run_err(s.image, bad), "the diameter must be 0 (automatic) or a positive number of px");
  bad = p;
  bad.min_area = -1;
  EXPECT_EQ(run_err(s.image, bad), "min_area must be a number of px, 0 or more");
  EXPECT_EQ(run_err(Image(), p), "the image is empty");
  card.outputs[1].channels = 16;  // a card built in code, not through parse_model_card
  EXPECT_NE(run_err(s.image, p).find("the model card is inconsistent"), std::string::npos);
}

// estimate_stains: the run unmixes with the slide's own colours and gives them back as used; a slide
// whose colours cannot be estimated fails the run with estimate_stain_vectors's sentence.
TEST(Pipeline, EstimatedStainColoursAreUsedAndKept) {
  SynthResult s = nuclei(96, 96, 20.0, 31);
  const double purple[3] = {0.5626, 0.7201, 0.4062}, dark_dab[3] = {0.40, 0.60, 0.69};
  Image slide = make_image(96, 96, 3, SampleType::U8);
  const uint16_t* t = samples<uint16_t>(s.image);
  const double brightest = *std::max_element(t, t + 96 * 96);
  for (size_t i = 0; i < size_t(96 * 96); ++i) {
    const double h = 0.05 + 0.6 * (t[i] / brightest), d = (i / 7) % 3 == 0 && s.labels.data[i] == 0 ? 0.6 : 0.0;
    mix_stains_of(purple, dark_dab, h, d, samples<uint8_t>(slide) + i * 3);
  }
  ModelCard card = star_card();
  std::vector<float> seen;
  int seen_width = 0;
  NetworkFn net = [&](const NetworkTile& tile, std::vector<NetworkOutput>* outs, std::string*) {
    seen.assign(tile.data, tile.data + size_t(tile.width) * tile.height);
    seen_width = tile.width;
    return local_filter(card, tile, outs);
  };
  PipelineParams p;
  p.diameter = 20.0;
  p.tile_size = 128;
  p.channels.stain = Stain::Hematoxylin;
  const PipelineResult standard = run_ok(slide, card, net, p);
  EXPECT_FALSE(standard.channels.estimate_stains);
  EXPECT_EQ(stain_vector_text(standard.channels.stain_vectors.dab), "0.268 0.570 0.776");
  p.channels.estimate_stains = true;
  const PipelineResult estimated = run_ok(slide, card, net, p);
  StainVectors expected;
  std::string error;
  ASSERT_TRUE(estimate_stain_vectors(slide, &expected, &error)) << error;
  EXPECT_TRUE(estimated.channels.estimate_stains);
  EXPECT_EQ(stain_vector_text(estimated.channels.stain_vectors.hematoxylin), stain_vector_text(expected.hematoxylin));
  EXPECT_EQ(stain_vector_text(estimated.channels.stain_vectors.dab), stain_vector_text(expected.dab));
  // What the network saw is that density, normalised.
  Image density;
  ASSERT_TRUE(stain_density(slide, Stain::Hematoxylin, expected, &density, &error)) << error;
  double lo = 0, hi = 0;
  ASSERT_TRUE(channel_percentiles(density, 0, 1.0, 99.8, &lo, &hi));
  ASSERT_GE(seen_width, 96);
  EXPECT_NEAR(seen[size_t(50 * seen_width + 50)], (samples<float>(density)[50 * 96 + 50] - lo) / (hi - lo), 1e-4);

  Image glass = make_image(64, 64, 3, SampleType::U8);
  std::fill(glass.data.begin(), glass.data.end(), uint8_t(255));
  PipelineResult r;
  EXPECT_FALSE(run_pipeline(glass, card, net, p, &r, &error));
  EXPECT_NE(error.find("too few to estimate the stains' colours"), std::string::npos) << error;
  // A stain is one channel: a model of three is refused before anything is estimated or unmixed.
  ModelCard rgb_card = card;
  rgb_card.input.channels = 3;
  EXPECT_FALSE(run_pipeline(glass, rgb_card, net, p, &r, &error));
  EXPECT_EQ(error, "a stain (hematoxylin) is one channel, and the model takes 3: choose a one-channel model, or no stain");
}

TEST(Pipeline, AutomaticDiameterWithNothingFoundKeepsScaleOne) {
  Image blank = make_image(80, 64, 1, SampleType::U16);
  ModelCard card = star_card();
  int calls = 0;
  NetworkFn net = [&](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    ++calls;
    local_filter(card, t, outs);
    for (float& v : (*outs)[0].data) v = 0.0f;  // nothing anywhere
    return true;
  };
  PipelineResult r = run_ok(blank, card, net, PipelineParams());
  EXPECT_EQ(r.count, 0);
  EXPECT_EQ(r.passes, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.scale, 1.0);
  EXPECT_FALSE(r.diameter_estimated);
  EXPECT_NE(r.note.find("could not be estimated"), std::string::npos) << r.note;
}

TEST(Pipeline, ThresholdOverrides) {
  SynthResult s = nuclei(128, 96, 20.0, 31);
  Oracle o{s.labels, star_card()};
  PipelineParams p;
  p.diameter = 20.0;
  p.prob_threshold = 1.01;  // above every probability: nothing
  PipelineResult r = run_ok(s.image, o.card, as_network(&o), p);
  EXPECT_EQ(r.prob_threshold, 1.01);
  EXPECT_EQ(r.count, 0);
}

// min_area acts on the final labels only: the automatic diameter still sees every object of the first
// pass (so the scale, and whether a change of min_area needs the network, never depends on it), and
// the result is the run without it, small objects removed and the rest renumbered.
TEST(Pipeline, MinAreaRemovesSmallObjectsAfterTheLastPass) {
  SynthResult s = nuclei(256, 224, 40.0, 7);
  Oracle o{s.labels, flow_card()};
  const PipelineResult all = run_ok(s.image, o.card, as_network(&o), PipelineParams());
  ASSERT_EQ(all.passes, 2);
  EXPECT_EQ(all.min_area, 0.0);
  std::vector<int> areas(size_t(all.count) + 1, 0);
  for (uint32_t v : all.labels.data) ++areas[v];
  std::vector<int> sorted(areas.begin() + 1, areas.end());
  std::sort(sorted.begin(), sorted.end());
  const double cut = sorted[sorted.size() / 2] + 0.5;  // about half the objects are smaller

  Labels expected = all.labels;
  const int kept = remove_small_objects(expected, int(std::ceil(cut)));
  ASSERT_GT(kept, 0);
  ASSERT_LT(kept, all.count);
  auto check = [&](const PipelineResult& r) {
    EXPECT_EQ(r.min_area, cut);
    EXPECT_EQ(r.diameter, all.diameter);
    EXPECT_EQ(r.scale, all.scale);
    EXPECT_EQ(r.passes, all.passes);
    EXPECT_EQ(r.count, kept);
    EXPECT_EQ(r.labels.data, expected.data);
  };
  PipelineParams p;
  p.min_area = cut;
  check(run_ok(s.image, o.card, as_network(&o), p));
  Oracle with_card{s.labels, flow_card()};  // the card's default, overridden by a parameter
  with_card.card.min_area = cut;
  check(run_ok(s.image, with_card.card, as_network(&with_card), PipelineParams()));
  PipelineParams keep_all;
  keep_all.min_area = 0.0;
  EXPECT_EQ(run_ok(s.image, with_card.card, as_network(&with_card), keep_all).labels.data, all.labels.data);
}

// exclude_border, like min_area, acts on the final labels only: the result is the run without it,
// the objects the border cuts removed and the rest renumbered, at the same scale.
TEST(Pipeline, ExcludeBorderRemovesCutObjectsAfterTheLastPass) {
  SynthResult s = nuclei(256, 224, 40.0, 7);
  Oracle o{s.labels, flow_card()};
  PipelineParams p;
  p.min_area = 0.0;
  const PipelineResult all = run_ok(s.image, o.card, as_network(&o), p);
  ASSERT_EQ(all.passes, 2);
  EXPECT_FALSE(all.exclude_border);
  Labels expected = all.labels;
  const int cut = clear_border_objects(expected);
  const int kept = relabel_sequential(expected);
  ASSERT_GT(cut, 3);  // dense nuclei: several lie on the border
  ASSERT_EQ(kept, all.count - cut);

  p.exclude_border = true;
  const PipelineResult r = run_ok(s.image, o.card, as_network(&o), p);
  EXPECT_TRUE(r.exclude_border);
  EXPECT_EQ(r.border_objects, cut);
  EXPECT_EQ(all.border_objects, 0);
  EXPECT_EQ(r.scale, all.scale);
  EXPECT_EQ(r.count, kept);
  EXPECT_EQ(r.labels.data, expected.data);
  for (int x = 0; x < r.labels.width; ++x)
    EXPECT_EQ(r.labels.at(x, 0) | r.labels.at(x, r.labels.height - 1), 0u) << x;
  for (int y = 0; y < r.labels.height; ++y)
    EXPECT_EQ(r.labels.at(0, y) | r.labels.at(r.labels.width - 1, y), 0u) << y;
}

// The stepper, driven as an asynchronous caller drives it (tiles pulled, outputs pushed), gives
// run_pipeline's labels bit for bit: automatic diameter (two passes) with several tiles per pass.
TEST(Pipeline, StepperEqualsRunPipeline) {
  SynthResult s = nuclei(256, 224, 40.0, 29);
  for (ModelCard card : {star_card(), flow_card()}) {
    Oracle o{s.labels, card};
    PipelineParams p;  // automatic diameter
    p.tile_size = 128;
    p.overlap = 16;
    PipelineResult a = run_ok(s.image, card, as_network(&o), p);
    ASSERT_EQ(a.passes, 2) << model_kind_name(card.kind);

    Oracle o2{s.labels, card};
    PipelineRun run;
    std::string error;
    ASSERT_TRUE(run.begin(s.image, card, p, &error)) << error;
    EXPECT_EQ(run.passes(), 2);
    int tiles = 0, pass2 = 0;
    std::vector<NetworkOutput> outs;
    while (const NetworkTile* t = run.next_tile()) {
      EXPECT_EQ(t->index, t->pass == 2 ? pass2 : tiles);  // tiles counted within their pass
      if (t->pass == 2) ++pass2;
      ++tiles;
      outs.clear();
      ASSERT_TRUE(o2(*t, &outs, nullptr));
      ASSERT_TRUE(run.submit(outs, &error)) << error;
    }
    EXPECT_TRUE(run.done());
    PipelineResult b;
    ASSERT_TRUE(run.finish(&b, &error)) << error;
    EXPECT_EQ(b.tiles, tiles);
    EXPECT_EQ(a.tiles, b.tiles);
    EXPECT_GT(pass2, 0);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.scale, b.scale);
    EXPECT_EQ(a.diameter, b.diameter);
    EXPECT_TRUE(a.labels.data == b.labels.data) << model_kind_name(card.kind);
    // Handed over once.
    EXPECT_FALSE(run.finish(&b, &error));
    EXPECT_NE(error.find("already"), std::string::npos) << error;
  }
}

TEST(Pipeline, StepperCancelFailAndMisuse) {
  SynthResult s = nuclei(200, 150, 20.0, 31);
  ModelCard card = star_card();
  PipelineParams p;
  p.diameter = 20.0;
  p.tile_size = 64;
  p.overlap = 8;
  std::vector<NetworkOutput> outs;
  std::string error;

  // Cancel between tiles: no more tiles, finish says so and marks the result.
  PipelineRun run;
  ASSERT_TRUE(run.begin(s.image, card, p, &error)) << error;
  ASSERT_NE(run.next_tile(), nullptr);
  EXPECT_GT(run.next_tile()->count, 1);
  ASSERT_TRUE(local_filter(card, *run.next_tile(), &outs));
  ASSERT_TRUE(run.submit(outs, &error)) << error;
  run.cancel();
  EXPECT_EQ(run.next_tile(), nullptr);
  EXPECT_FALSE(run.submit(outs, &error));
  EXPECT_EQ(error, "cancelled");
  PipelineResult r;
  EXPECT_FALSE(run.finish(&r, &error));
  EXPECT_EQ(error, "cancelled");
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.tiles, 1);

  // A failing network names its tile.
  PipelineRun failing;
  ASSERT_TRUE(failing.begin(s.image, card, p, &error)) << error;
  const int count = failing.next_tile()->count;
  failing.fail_tile("session.run threw: out of memory");
  EXPECT_EQ(failing.next_tile(), nullptr);
  EXPECT_FALSE(failing.finish(&r, &error));
  EXPECT_EQ(error, "the network failed on tile 1 of " + std::to_string(count) + ": session.run threw: out of memory");

  // Wrong outputs fail the run with the same message run_pipeline gives.
  PipelineRun wrong;
  ASSERT_TRUE(wrong.begin(s.image, card, p, &error)) << error;
  ASSERT_TRUE(local_filter(card, *wrong.next_tile(), &outs));
  outs.pop_back();
  EXPECT_FALSE(wrong.submit(outs, &error));
  EXPECT_NE(error.find("the network returned 1 outputs for tile 1"), std::string::npos) << error;
  EXPECT_EQ(wrong.next_tile(), nullptr);

  // Finishing early, or submitting without a tile, is refused with a reason.
  PipelineRun early;
  EXPECT_FALSE(early.submit(outs, &error));
  EXPECT_NE(error.find("before begin"), std::string::npos) << error;
  ASSERT_TRUE(early.begin(s.image, card, p, &error)) << error;
  EXPECT_FALSE(early.finish(&r, &error));
  EXPECT_NE(error.find("is waiting for the network"), std::string::npos) << error;

  // begin's own errors.
  PipelineRun bad;
  PipelineParams q = p;
  q.diameter = -1;
  EXPECT_FALSE(bad.begin(s.image, card, q, &error));
  EXPECT_NE(error.find("diameter"), std::string::npos) << error;
  EXPECT_EQ(bad.next_tile(), nullptr);
}

// The flow dynamics handed to the caller (the page's GPU): answered with follow_flows itself, the
// run's labels are run_pipeline's, both passes of an automatic diameter; wrong answers are refused.
TEST(Pipeline, ExternalFlowDynamicsEqualsInternal) {
  SynthResult s = nuclei(256, 224, 40.0, 29);
  const ModelCard card = flow_card();
  Oracle o{s.labels, card};
  PipelineParams p;  // automatic diameter: two passes, so two requests
  p.tile_size = 128;
  p.overlap = 16;
  PipelineResult a = run_ok(s.image, card, as_network(&o), p);
  ASSERT_EQ(a.passes, 2);

  Oracle o2{s.labels, card};
  PipelineRun run;
  std::string error;
  ASSERT_TRUE(run.begin(s.image, card, p, &error)) << error;
  run.set_external_flow_dynamics(true);
  std::vector<NetworkOutput> outs;
  int requests = 0;
  for (;;) {
    if (const NetworkTile* t = run.next_tile()) {
      EXPECT_EQ(run.flow_dynamics(), nullptr);
      outs.clear();
      ASSERT_TRUE(o2(*t, &outs, nullptr));
      ASSERT_TRUE(run.submit(outs, &error)) << error;
      continue;
    }
    const FlowDynamicsRequest* d = run.flow_dynamics();
    if (!d) break;
    ++requests;
    EXPECT_FALSE(run.done());
    EXPECT_EQ(d->flow_scale, 5.0f);
    EXPECT_GT(d->niter, 0);
    ASSERT_EQ(d->foreground->size(), size_t(d->flow->width) * size_t(d->flow->height));
    const EndPoints ends = follow_flows(*d->flow, *d->foreground, d->niter, d->flow_scale);
    if (requests == 1) {  // a wrong answer first: one pixel short, then one outside the foreground
      EndPoints short_one = ends;
      short_one.pixel.pop_back();
      short_one.y.pop_back();
      short_one.x.pop_back();
      EXPECT_FALSE(run.submit_end_points(short_one, &error));
      EXPECT_NE(error.find("the foreground has"), std::string::npos) << error;
      EndPoints outside = ends;
      size_t bg = 0;
      while ((*d->foreground)[bg]) ++bg;
      outside.pixel[0] = uint32_t(bg);
      EXPECT_FALSE(run.submit_end_points(outside, &error));
      EXPECT_NE(error.find("not a foreground pixel"), std::string::npos) << error;
      ASSERT_NE(run.flow_dynamics(), nullptr) << "a refused answer leaves the request waiting";
    }
    ASSERT_TRUE(run.submit_end_points(ends, &error)) << error;
  }
  EXPECT_EQ(requests, 2);
  PipelineResult b;
  ASSERT_TRUE(run.finish(&b, &error)) << error;
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.niter, b.niter);
  EXPECT_TRUE(a.labels.data == b.labels.data);

  // A failure while the dynamics are out (a lost GPU) fails the run with its reason.
  Oracle o3{s.labels, card};
  PipelineRun failing;
  ASSERT_TRUE(failing.begin(s.image, card, p, &error)) << error;
  failing.set_external_flow_dynamics(true);
  while (const NetworkTile* t = failing.next_tile()) {
    outs.clear();
    ASSERT_TRUE(o3(*t, &outs, nullptr));
    ASSERT_TRUE(failing.submit(outs, &error)) << error;
  }
  ASSERT_NE(failing.flow_dynamics(), nullptr);
  EXPECT_FALSE(failing.finish(&b, &error));
  EXPECT_NE(error.find("waiting for its flow end points"), std::string::npos) << error;
  PipelineRun failing2;
  Oracle o4{s.labels, card};
  ASSERT_TRUE(failing2.begin(s.image, card, p, &error)) << error;
  failing2.set_external_flow_dynamics(true);
  while (const NetworkTile* t = failing2.next_tile()) {
    outs.clear();
    ASSERT_TRUE(o4(*t, &outs, nullptr));
    ASSERT_TRUE(failing2.submit(outs, &error)) << error;
  }
  failing2.fail_tile("the GPU device was lost");
  EXPECT_EQ(failing2.flow_dynamics(), nullptr);
  EXPECT_FALSE(failing2.finish(&b, &error));
  EXPECT_EQ(error, "the flow dynamics failed: the GPU device was lost");
}

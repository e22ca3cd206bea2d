#include "core/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/labels.h"
#include "core/resize.h"
#include "core/star.h"

namespace celldrop {

const char* pipeline_stage_name(PipelineStage stage) {
  switch (stage) {
    case PipelineStage::Normalize: return "normalize";
    case PipelineStage::Inference: return "inference";
    case PipelineStage::Postprocess: return "postprocess";
  }
  return "?";
}

double median_object_diameter(const Labels& labels) {
  ObjectIndex index = index_objects(labels);
  if (index.count() == 0) return 0.0;
  std::vector<double> area(size_t(index.count()), 0.0);
  for (int32_t i : index.pixel_index)
    if (i >= 0) area[size_t(i)] += 1.0;
  std::vector<double> d;
  for (double a : area) d.push_back(2.0 * std::sqrt(a / 3.14159265358979323846));
  std::sort(d.begin(), d.end());
  size_t n = d.size();
  return n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int round_up(int v, int m) { return (v + m - 1) / m * m; }

// numpy's "reflect" (the edge sample is not repeated): ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
int reflect_index(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// One axis of the tiling: a tile covers [start, start + length) of the padded axis and keeps
// [keep_begin, keep_end) of its output.
struct Span {
  int start, length, keep_begin, keep_end;
};

std::vector<Span> tile_spans(int padded, int tile, int margin) {
  std::vector<Span> spans;
  if (padded <= tile) {
    spans.push_back({0, padded, 0, padded});
    return spans;
  }
  const int step = tile - 2 * margin;  // > 0, checked by the caller
  for (int start = 0;; start += step) {
    const bool last = start + tile >= padded;
    if (last) start = padded - tile;
    spans.push_back({start, tile, start == 0 ? 0 : start + margin, last ? padded : start + tile - margin});
    if (last) break;
  }
  return spans;
}

struct StitchedMaps {  // network scale; see PipelineMaps for the layouts
  int width = 0, height = 0, grid = 1, grid_width = 0, grid_height = 0;
  std::vector<float> prob, dist, cellprob;
  FlowField flow;
};

class Runner {
 public:
  Runner(const Image& image, const ModelCard& card, const NetworkFn& network, const PipelineParams& params,
         PipelineResult* result, std::string* error)
      : image_(image), card_(card), network_(network), params_(params), r_(result), error_(error) {}

  bool run();

 private:
  const Image& image_;  // after channel selection
  const ModelCard& card_;
  const NetworkFn& network_;
  const PipelineParams& params_;
  PipelineResult* r_;
  std::string* error_;
  int passes_ = 1;

  bool fail(const std::string& message) {
    if (error_) *error_ = message;
    return false;
  }
  bool cancelled() {
    if (params_.cancel && params_.cancel()) {
      r_->cancelled = true;
      return true;
    }
    return false;
  }
  void report(PipelineStage stage, int pass, int tile = 0, int tiles = 0) {
    if (!params_.progress) return;
    PipelineProgress p;
    p.stage = stage;
    p.pass = pass;
    p.passes = passes_;
    p.tile = tile;
    p.tiles = tiles;
    params_.progress(p);
  }

  int64_t pixel_limit() const {
    return std::max<int64_t>(params_.max_network_pixels, int64_t(image_.width) * image_.height);
  }
  int64_t network_pixels(double scale) const {
    return int64_t(scaled_size(image_.width, scale)) * scaled_size(image_.height, scale);
  }

  void normalize(int nw, int nh, std::vector<float>* net);
  bool infer(const std::vector<float>& net, int nw, int nh, int pass, double scale, StitchedMaps* maps);
  bool check_outputs(const std::vector<NetworkOutput>& outs, const Span& sx, const Span& sy, int index,
                     int count);
  Labels postprocess(const StitchedMaps& maps, double object_diameter_net);
  bool run_pass(int pass, double scale, double object_diameter_net, Labels* labels);
};

// Percentile normalisation and bilinear rescale in one sweep over the source rows, so no
// normalised copy at the original size is ever made. Normalising is a per-channel affine map, which
// commutes with linear interpolation: the result is that of normalize_percentiles then resizing.
void Runner::normalize(int nw, int nh, std::vector<float>* net) {
  const int W = image_.width, H = image_.height, C = image_.channels;
  net->assign(size_t(C) * size_t(nw) * size_t(nh), 0.0f);
  const LinearAxis ax = linear_axis(W, nw), ay = linear_axis(H, nh);
  std::vector<float> src0(static_cast<size_t>(W)), src1(static_cast<size_t>(W));
  std::vector<float> row0(static_cast<size_t>(nw)), row1(static_cast<size_t>(nw));
  for (int c = 0; c < C; ++c) {
    const double lo = r_->levels[size_t(c)].low, hi = r_->levels[size_t(c)].high;
    const double inv = hi > lo ? 1.0 / (hi - lo) : 1.0;  // normalize.h: a flat channel is only shifted
    int have0 = -1, have1 = -1;  // source rows held in src0 / src1
    auto load = [&](int sy, std::vector<float>& buf) {
      for (int x = 0; x < W; ++x) {
        double v = image_.at(x, sy, c);
        buf[size_t(x)] = std::isfinite(v) ? float((v - lo) * inv) : 0.0f;
      }
    };
    auto horizontal = [&](const std::vector<float>& s, std::vector<float>& out) {
      for (int x = 0; x < nw; ++x) {
        float w = ax.weight1[size_t(x)];
        out[size_t(x)] = s[size_t(ax.index0[size_t(x)])] * (1.0f - w) + s[size_t(ax.index1[size_t(x)])] * w;
      }
    };
    float* plane = net->data() + size_t(c) * size_t(nw) * size_t(nh);
    for (int y = 0; y < nh; ++y) {
      const int s0 = ay.index0[size_t(y)], s1 = ay.index1[size_t(y)];
      if (have0 != s0) {
        if (have1 == s0) {
          std::swap(src0, src1);
          std::swap(have0, have1);
        } else {
          load(s0, src0);
          have0 = s0;
        }
      }
      if (have1 != s1) {
        load(s1, src1);
        have1 = s1;
      }
      horizontal(src0, row0);
      horizontal(src1, row1);
      const float w = ay.weight1[size_t(y)];
      float* d = plane + size_t(y) * size_t(nw);
      for (int x = 0; x < nw; ++x) d[x] = row0[size_t(x)] * (1.0f - w) + row1[size_t(x)] * w;
    }
  }
}

bool Runner::check_outputs(const std::vector<NetworkOutput>& outs, const Span& sx, const Span& sy, int index,
                           int count) {
  const std::string where = " for tile " + std::to_string(index + 1) + " of " + std::to_string(count);
  if (outs.size() != card_.outputs.size()) {
    std::string names;
    for (const auto& o : card_.outputs) names += (names.empty() ? "" : ", ") + o.name;
    return fail("the network returned " + std::to_string(outs.size()) + " outputs" + where +
                "; the model card lists " + std::to_string(card_.outputs.size()) + " (" + names + ")");
  }
  for (size_t k = 0; k < outs.size(); ++k) {
    const ModelOutput& want = card_.outputs[k];
    const NetworkOutput& got = outs[k];
    const int h = sy.length / want.grid, w = sx.length / want.grid;
    auto dims = [](int c, int hh, int ww) {
      return std::to_string(c) + " x " + std::to_string(hh) + " x " + std::to_string(ww);
    };
    if (got.channels != want.channels || got.height != h || got.width != w)
      return fail("the network's output \"" + want.name + "\"" + where + " is " +
                  dims(got.channels, got.height, got.width) + " (channels x height x width); the model card " +
                  "expects " + dims(want.channels, h, w) + " for a " + std::to_string(sy.length) + " x " +
                  std::to_string(sx.length) + " tile (grid " + std::to_string(want.grid) + ")");
    const size_t n = size_t(got.channels) * size_t(got.height) * size_t(got.width);
    if (got.data.size() != n)
      return fail("the network's output \"" + want.name + "\"" + where + " holds " +
                  std::to_string(got.data.size()) + " values, not " + dims(got.channels, got.height, got.width) +
                  " = " + std::to_string(n));
  }
  return true;
}

bool Runner::infer(const std::vector<float>& net, int nw, int nh, int pass, double scale, StitchedMaps* maps) {
  const int div = card_.input.divisor, C = image_.channels;
  const int pw = round_up(nw, div), ph = round_up(nh, div);
  const int tile = std::max(div, params_.tile_size / div * div);
  const int margin = round_up(std::max(0, params_.overlap), div);
  if ((pw > tile || ph > tile) && tile <= 2 * margin)
    return fail("tile size " + std::to_string(tile) + " px leaves nothing between overlaps of " +
                std::to_string(margin) + " px on each side: use tiles larger than " +
                std::to_string(2 * margin) + " px or a smaller overlap");
  const std::vector<Span> xs = tile_spans(pw, tile, margin), ys = tile_spans(ph, tile, margin);
  const int count = int(xs.size() * ys.size());

  const bool star = card_.kind == ModelKind::Star;
  maps->width = nw;
  maps->height = nh;
  if (star) {
    const int g = card_.star.grid, R = card_.star.n_rays;
    maps->grid = g;
    maps->grid_width = star_grid_size(nw, g);
    maps->grid_height = star_grid_size(nh, g);
    const size_t cells = size_t(maps->grid_width) * size_t(maps->grid_height);
    maps->prob.assign(cells, 0.0f);
    maps->dist.assign(cells * size_t(R), 0.0f);
  } else {
    maps->cellprob.assign(size_t(nw) * size_t(nh), 0.0f);
    maps->flow = make_flow_field(nw, nh);
  }

  std::vector<float> input;
  std::vector<NetworkOutput> outs;
  int index = 0;
  for (const Span& sy : ys) {
    for (const Span& sx : xs) {
      if (cancelled()) return fail("cancelled");
      report(PipelineStage::Inference, pass, index, count);
      // The tile, reflected across the right and bottom edges where it reaches the padding.
      input.resize(size_t(C) * size_t(sx.length) * size_t(sy.length));
      std::vector<int> cols(static_cast<size_t>(sx.length));
      for (int x = 0; x < sx.length; ++x) cols[size_t(x)] = reflect_index(sx.start + x, nw);
      for (int c = 0; c < C; ++c) {
        const float* plane = net.data() + size_t(c) * size_t(nw) * size_t(nh);
        for (int y = 0; y < sy.length; ++y) {
          const float* src = plane + size_t(reflect_index(sy.start + y, nh)) * size_t(nw);
          float* dst = input.data() + (size_t(c) * size_t(sy.length) + size_t(y)) * size_t(sx.length);
          for (int x = 0; x < sx.length; ++x) dst[x] = src[cols[size_t(x)]];
        }
      }
      NetworkTile t;
      t.data = input.data();
      t.channels = C;
      t.height = sy.length;
      t.width = sx.length;
      t.x = sx.start;
      t.y = sy.start;
      t.index = index;
      t.count = count;
      t.pass = pass;
      t.scale = scale;
      outs.clear();
      std::string net_error;
      if (!network_(t, &outs, &net_error))
        return fail("the network failed on tile " + std::to_string(index + 1) + " of " + std::to_string(count) +
                    (net_error.empty() ? std::string() : ": " + net_error));
      if (!check_outputs(outs, sx, sy, index, count)) return false;
      ++r_->tiles;

      if (star) {
        const int g = card_.star.grid, R = card_.star.n_rays;
        const NetworkOutput& P = outs[size_t(card_.output_index("prob"))];
        const NetworkOutput& D = outs[size_t(card_.output_index("dist"))];
        const size_t plane = size_t(P.width) * size_t(P.height);
        const int gy1 = std::min(sy.keep_end / g, maps->grid_height);
        const int gx1 = std::min(sx.keep_end / g, maps->grid_width);
        for (int gy = sy.keep_begin / g; gy < gy1; ++gy) {
          const size_t ly = size_t(gy - sy.start / g);
          for (int gx = sx.keep_begin / g; gx < gx1; ++gx) {
            const size_t local = ly * size_t(P.width) + size_t(gx - sx.start / g);
            const size_t cell = size_t(gy) * size_t(maps->grid_width) + size_t(gx);
            maps->prob[cell] = P.data[local];
            float* d = maps->dist.data() + cell * size_t(R);
            for (int k = 0; k < R; ++k) d[k] = D.data[size_t(k) * plane + local];
          }
        }
      } else {
        const NetworkOutput& P = outs[size_t(card_.output_index("cellprob"))];
        const NetworkOutput& F = outs[size_t(card_.output_index("flow"))];
        const size_t plane = size_t(P.width) * size_t(P.height);
        const int y1 = std::min(sy.keep_end, nh), x1 = std::min(sx.keep_end, nw);
        for (int y = sy.keep_begin; y < y1; ++y) {
          for (int x = sx.keep_begin; x < x1; ++x) {
            const size_t local = size_t(y - sy.start) * size_t(P.width) + size_t(x - sx.start);
            const size_t p = size_t(y) * size_t(nw) + size_t(x);
            maps->cellprob[p] = P.data[local];
            maps->flow.dy()[p] = F.data[local];
            maps->flow.dx()[p] = F.data[plane + local];
          }
        }
      }
      ++index;
    }
  }
  report(PipelineStage::Inference, pass, count, count);
  return true;
}

Labels Runner::postprocess(const StitchedMaps& maps, double object_diameter_net) {
  if (card_.kind == ModelKind::Star) {
    StarParams sp;
    sp.prob_thresh = float(r_->prob_threshold);
    sp.nms_thresh = float(r_->nms_threshold);
    return star_postprocess(maps.prob.data(), maps.dist.data(), maps.grid_width, maps.grid_height,
                            card_.star.n_rays, maps.grid, maps.width, maps.height, sp)
        .labels;
  }
  // Paths grow with the object size: reference_niter steps at the card's diameter, scaled from there.
  const int niter = object_diameter_net > 0
                        ? std::max(1, int(std::lround(flow_niter_for_diameter(object_diameter_net, card_.diameter) *
                                                      (card_.flow.reference_niter / 200.0))))
                        : card_.flow.reference_niter;
  r_->niter = niter;
  FlowParams fp;
  fp.cellprob_threshold = float(r_->cellprob_threshold);
  fp.flow_threshold = float(r_->flow_threshold);
  fp.niter = niter;
  fp.flow_scale = float(card_.flow.flow_scale);
  return flow_postprocess(maps.cellprob.data(), maps.flow, fp);
}

// One pass at `scale`; `object_diameter_net` is the expected object size at network scale (0 =
// unknown). Labels come back at the original size, numbered 1..N.
bool Runner::run_pass(int pass, double scale, double object_diameter_net, Labels* labels) {
  const int nw = scaled_size(image_.width, scale), nh = scaled_size(image_.height, scale);
  if (cancelled()) return fail("cancelled");
  report(PipelineStage::Normalize, pass);
  Clock::time_point t0 = Clock::now();
  std::vector<float> net;
  normalize(nw, nh, &net);
  r_->timings.normalize += seconds_since(t0);

  t0 = Clock::now();
  StitchedMaps maps;
  bool ok = infer(net, nw, nh, pass, scale, &maps);
  r_->timings.inference += seconds_since(t0);
  if (!ok) return false;
  std::vector<float>().swap(net);  // the normalised image is not needed past inference

  if (cancelled()) return fail("cancelled");
  report(PipelineStage::Postprocess, pass);
  t0 = Clock::now();
  Labels small = postprocess(maps, object_diameter_net);
  *labels = (nw == image_.width && nh == image_.height) ? std::move(small)
                                                        : resize_labels_nearest(small, image_.width, image_.height);
  r_->count = relabel_sequential(*labels);  // objects thinner than an original pixel may vanish
  r_->timings.postprocess += seconds_since(t0);

  r_->passes = pass;
  r_->scale = scale;
  r_->network_width = nw;
  r_->network_height = nh;
  if (params_.keep_maps) {
    PipelineMaps& m = r_->maps;
    m.width = maps.width;
    m.height = maps.height;
    m.grid = maps.grid;
    m.grid_width = maps.grid_width;
    m.grid_height = maps.grid_height;
    m.prob = std::move(maps.prob);
    m.dist = std::move(maps.dist);
    m.cellprob = std::move(maps.cellprob);
    m.flow = std::move(maps.flow);
  }
  return true;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

bool Runner::run() {
  const double given = params_.diameter;
  if (given > 0) {
    const double scale = card_.diameter / given;
    if (network_pixels(scale) > pixel_limit())
      return fail("at a diameter of " + fmt(given) + " px the image would be rescaled by " + fmt(scale) +
                  " to " + std::to_string(scaled_size(image_.width, scale)) + " x " +
                  std::to_string(scaled_size(image_.height, scale)) + " px, more than the limit of " +
                  std::to_string(params_.max_network_pixels) + " px: give a larger diameter or crop the image");
    r_->diameter = given;
    passes_ = 1;
    return run_pass(1, scale, card_.diameter, &r_->labels);
  }

  // Automatic: segment at scale 1, measure, then segment again at the scale that measure asks for.
  passes_ = 2;
  if (!run_pass(1, 1.0, 0.0, &r_->labels)) return false;
  const double estimate = median_object_diameter(r_->labels);
  if (estimate <= 0) {
    r_->diameter = card_.diameter;
    r_->note = "no objects found at scale 1, so the diameter could not be estimated; kept scale 1 "
               "(give the diameter to rescale)";
    return true;
  }
  r_->diameter = estimate;
  r_->diameter_estimated = true;
  double scale = card_.diameter / estimate;
  const double lo = 1.0 / 8.0, hi = 8.0;
  if (scale < lo || scale > hi) {
    const double limited = std::min(std::max(scale, lo), hi);
    r_->note = "estimated diameter " + fmt(estimate) + " px asks for a rescale by " + fmt(scale) +
               "; limited to " + fmt(limited);
    scale = limited;
  }
  while (network_pixels(scale) > pixel_limit()) {
    scale *= 0.95;
    r_->note = "rescale limited to " + fmt(scale) + " to stay within " + std::to_string(params_.max_network_pixels) +
               " network pixels";
  }
  if (std::fabs(scale - 1.0) <= 0.05) return true;  // the first pass was already at the right scale
  return run_pass(2, scale, estimate * scale, &r_->labels);
}

}  // namespace

bool run_pipeline(const Image& image, const ModelCard& card, const NetworkFn& network,
                  const PipelineParams& params, PipelineResult* result, std::string* error) {
  const Clock::time_point start = Clock::now();
  *result = PipelineResult();
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (image.empty()) return fail("the image is empty");
  if (!network) return fail("no network was given to the pipeline");
  if (!(params.diameter >= 0) || !std::isfinite(params.diameter))
    return fail("the diameter must be 0 (automatic) or a positive number of px");
  if (params.tile_size < card.input.divisor)
    return fail("tile size " + std::to_string(params.tile_size) + " px is below the model's input divisor (" +
                std::to_string(card.input.divisor) + " px)");
  if (params.overlap < 0) return fail("the tile overlap must not be negative");
  // parse_model_card guarantees these; a card built in code might not, and would index outputs wrongly.
  {
    const bool star = card.kind == ModelKind::Star;
    const int a = card.output_index(star ? "prob" : "cellprob"), b = card.output_index(star ? "dist" : "flow");
    const int grid = star ? card.star.grid : 1;
    const bool consistent =
        card.outputs.size() == 2 && a >= 0 && b >= 0 && card.input.divisor >= 1 && grid >= 1 &&
        card.input.divisor % grid == 0 && card.outputs[size_t(a)].channels == 1 &&
        card.outputs[size_t(b)].channels == (star ? card.star.n_rays : 2) &&
        card.outputs[size_t(a)].grid == grid && card.outputs[size_t(b)].grid == grid && card.diameter > 0 &&
        (star || card.flow.flow_scale > 0);
    if (!consistent) return fail("the model card is inconsistent (read cards with parse_model_card, which names the field)");
  }

  PipelineResult& r = *result;
  r.percentile_low = params.percentile_low.value_or(card.percentile_low);
  r.percentile_high = params.percentile_high.value_or(card.percentile_high);
  if (!(r.percentile_low >= 0 && r.percentile_low < r.percentile_high && r.percentile_high <= 100))
    return fail("percentiles " + fmt(r.percentile_low) + " and " + fmt(r.percentile_high) +
                " must satisfy 0 <= low < high <= 100");
  r.prob_threshold = params.prob_threshold.value_or(card.star.prob_threshold);
  r.nms_threshold = params.nms_threshold.value_or(card.star.nms_threshold);
  r.cellprob_threshold = params.cellprob_threshold.value_or(card.flow.cellprob_threshold);
  r.flow_threshold = params.flow_threshold.value_or(card.flow.flow_threshold);
  for (double t : {r.prob_threshold, r.nms_threshold, r.cellprob_threshold, r.flow_threshold})
    if (!std::isfinite(t)) return fail("thresholds must be finite numbers");

  // Channel selection; the image itself serves when it already has the model's channels.
  Clock::time_point t0 = Clock::now();
  Image selected;
  const Image* input = &image;
  if (!params.channels.channels.empty() || params.channels.merge) {
    if (!select_channels(image, params.channels, &selected, error)) return false;
    input = &selected;
  }
  if (input->channels != card.input.channels)
    return fail("the model takes " + std::to_string(card.input.channels) + " input channel" +
                (card.input.channels == 1 ? "" : "s") + " but the " +
                (input == &image ? "image has " : "channel selection gives ") + std::to_string(input->channels) +
                (card.input.channels == 1 ? ": choose one channel, or merge them" : ": choose the channels"));
  for (int c = 0; c < input->channels; ++c) {
    ChannelLevels lv;
    if (!channel_percentiles(*input, c, r.percentile_low, r.percentile_high, &lv.low, &lv.high))
      return fail("channel " + std::to_string(c) + " of the image has no finite sample to normalise");
    r.levels.push_back(lv);
  }
  r.timings.normalize += seconds_since(t0);

  Runner runner(*input, card, network, params, result, error);
  const bool ok = runner.run();
  r.timings.total = seconds_since(start);
  return ok;
}

}  // namespace celldrop

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
  // Star rays, sparse unless the maps are kept: only candidates' (prob above the threshold) rows are
  // stored, in stitching order, and dist_rows maps a cell to its row (star_postprocess's layout).
  // Empty: dist is dense.
  std::vector<uint32_t> dist_rows;
  // Flow, unless the maps are kept: the foreground (cellprob above the threshold, flow_foreground's
  // test) is stitched instead of the cell probability, 1 byte a pixel instead of 4.
  std::vector<uint8_t> foreground;
  FlowField flow;
};

enum class RunPhase : uint8_t { Idle, Tiles, Dynamics, Done, Failed, Finished };

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// The result's note may say more than one thing (how the channels were read, why the scale was
// limited): each remark follows the one before.
void append_note(std::string* note, const std::string& remark) {
  if (!note->empty()) *note += "; ";
  *note += remark;
}

}  // namespace

// Everything a run holds between calls. The methods follow the chain in order: begin -> start_pass
// -> prepare_tile / submit (per tile) -> end_pass -> (automatic diameter: start_pass(2)) -> Done.
struct PipelineRun::State {
  const Image* image = nullptr;  // after channel selection: the caller's image or `selected`
  Image selected;
  ModelCard card;
  PipelineParams params;
  PipelineResult r;
  std::string error;
  RunPhase phase = RunPhase::Idle;
  Clock::time_point start;
  int passes = 1;

  // The pass under way.
  int pass = 0;
  double scale = 1.0;
  double object_diameter_net = 0.0;  // expected object size at network scale; 0 = unknown
  int nw = 0, nh = 0;                // network-scale image
  LinearAxis axis_x, axis_y;         // image px -> network px (resize.h)
  double fill_seconds = 0.0;         // the pass's time in fill_tile_input
  StitchedMaps maps;
  std::vector<Span> xs, ys;
  int index = 0, count = 0;          // the tile waiting for the network, of `count`
  std::vector<float> input;          // its data
  NetworkTile tile;
  Clock::time_point inference_start;

  // Flow dynamics run by the caller (set_external_flow_dynamics): the request while waiting, the
  // end points once given.
  bool external_dynamics = false;
  std::vector<uint8_t> foreground;
  FlowDynamicsRequest dynamics;
  EndPoints ends;
  bool have_ends = false;
  Clock::time_point dynamics_start;

  bool fail(const std::string& message) {
    error = message;
    phase = RunPhase::Failed;
    return false;
  }
  bool cancelled() {
    if (params.cancel && params.cancel()) {
      r.cancelled = true;
      return true;
    }
    return false;
  }
  void report(PipelineStage stage, int tile_done = 0, int tiles = 0) {
    if (!params.progress) return;
    PipelineProgress p;
    p.stage = stage;
    p.pass = pass;
    p.passes = passes;
    p.tile = tile_done;
    p.tiles = tiles;
    params.progress(p);
  }
  int64_t pixel_limit() const {
    return std::max<int64_t>(params.max_network_pixels, int64_t(image->width) * image->height);
  }
  int64_t network_pixels(double s) const {
    return int64_t(scaled_size(image->width, s)) * scaled_size(image->height, s);
  }

  bool begin(const Image& source);
  void fill_tile_input(const Span& sx, const Span& sy);
  bool start_pass(int pass_number, double pass_scale, double diameter_net);
  bool prepare_tile();
  bool check_outputs(const std::vector<NetworkOutput>& outs, const Span& sx, const Span& sy);
  void stitch(const std::vector<NetworkOutput>& outs, const Span& sx, const Span& sy);
  bool submit(const std::vector<NetworkOutput>& outs);
  FlowParams flow_params();
  Labels postprocess();
  bool end_pass();
  bool after_first_pass();
  void set_done() {
    // The final labels are numbered 1..N here, once, in the same sweep that removes the objects
    // under min_area (and those thinner than an original pixel, which resizing may have lost), after
    // the objects the border cuts when those are excluded. Only after the last pass: the automatic
    // diameter is estimated from every object the first pass found, so neither changes the scale,
    // and a change of either alone can always be re-post-processed without the network.
    Clock::time_point t0 = Clock::now();
    if (r.exclude_border) r.border_objects = clear_border_objects(r.labels);
    r.count = remove_small_objects(r.labels, int(std::min(std::max(std::ceil(r.min_area), 1.0), 2e9)));
    r.timings.postprocess += seconds_since(t0);
    phase = RunPhase::Done;
    r.timings.total = seconds_since(start);
  }
};

// Fills the tile's input: the image at network scale (bilinear), normalised, reflected across the
// right and bottom edges where the tile reaches the padding. Normalising is a per-channel affine map,
// which commutes with linear interpolation, so the source samples are normalised as they are read:
// the result is that of normalize_percentiles then resizing. Computed per tile rather than once for
// the whole image, which would hold C floats per network pixel (256 MB for a 4096^2 RGB image):
// every network pixel is the same expression of the same source samples either way, so tiles
// overlapping the same pixel get the same value, bit for bit.
void PipelineRun::State::fill_tile_input(const Span& sx, const Span& sy) {
  const int C = image->channels;
  input.resize(size_t(C) * size_t(sx.length) * size_t(sy.length));
  // The tile's columns, as source sample pairs; the source columns they read form one range.
  std::vector<int> i0(static_cast<size_t>(sx.length)), i1(static_cast<size_t>(sx.length));
  std::vector<float> wx(static_cast<size_t>(sx.length));
  int first = image->width, last = 0;
  for (int x = 0; x < sx.length; ++x) {
    const size_t col = size_t(reflect_index(sx.start + x, nw));
    i0[size_t(x)] = axis_x.index0[col];
    i1[size_t(x)] = axis_x.index1[col];
    wx[size_t(x)] = axis_x.weight1[col];
    first = std::min(first, std::min(i0[size_t(x)], i1[size_t(x)]));
    last = std::max(last, std::max(i0[size_t(x)], i1[size_t(x)]));
  }
  const int span = last - first + 1;
  std::vector<float> src0(static_cast<size_t>(span)), src1(static_cast<size_t>(span));
  for (int c = 0; c < C; ++c) {
    const double lo = r.levels[size_t(c)].low, hi = r.levels[size_t(c)].high;
    // normalize.h: a flat channel is only shifted. Inverted, 1 - (v - lo) / (hi - lo) = (v - hi) / (lo - hi).
    const double from = r.invert ? hi : lo;
    const double inv = (hi > lo ? 1.0 / (hi - lo) : 1.0) * (r.invert ? -1.0 : 1.0);
    int have0 = -1, have1 = -1;  // source rows held in src0 / src1
    auto load = [&](int row, std::vector<float>& buf) {
      for (int x = first; x <= last; ++x) {
        double v = image->at(x, row, c);
        buf[size_t(x - first)] = std::isfinite(v) ? float((v - from) * inv) : 0.0f;
      }
    };
    float* plane = input.data() + size_t(c) * size_t(sy.length) * size_t(sx.length);
    for (int y = 0; y < sy.length; ++y) {
      const size_t row = size_t(reflect_index(sy.start + y, nh));
      const int s0 = axis_y.index0[row], s1 = axis_y.index1[row];
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
      const float wy = axis_y.weight1[row];
      float* d = plane + size_t(y) * size_t(sx.length);
      for (int x = 0; x < sx.length; ++x) {
        const size_t a = size_t(i0[size_t(x)] - first), b = size_t(i1[size_t(x)] - first);
        const float w = wx[size_t(x)];
        const float h0 = src0[a] * (1.0f - w) + src0[b] * w;
        const float h1 = src1[a] * (1.0f - w) + src1[b] * w;
        d[x] = h0 * (1.0f - wy) + h1 * wy;
      }
    }
  }
}

bool PipelineRun::State::check_outputs(const std::vector<NetworkOutput>& outs, const Span& sx, const Span& sy) {
  const std::string where = " for tile " + std::to_string(index + 1) + " of " + std::to_string(count);
  if (outs.size() != card.outputs.size()) {
    std::string names;
    for (const auto& o : card.outputs) names += (names.empty() ? "" : ", ") + o.name;
    return fail("the network returned " + std::to_string(outs.size()) + " outputs" + where +
                "; the model card lists " + std::to_string(card.outputs.size()) + " (" + names + ")");
  }
  for (size_t k = 0; k < outs.size(); ++k) {
    const ModelOutput& want = card.outputs[k];
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

// A pass: normalise at `pass_scale`, lay out the tiles, allocate the stitched maps, offer tile 1.
bool PipelineRun::State::start_pass(int pass_number, double pass_scale, double diameter_net) {
  pass = pass_number;
  scale = pass_scale;
  object_diameter_net = diameter_net;
  nw = scaled_size(image->width, scale);
  nh = scaled_size(image->height, scale);
  if (cancelled()) return fail("cancelled");
  report(PipelineStage::Normalize);
  Clock::time_point t0 = Clock::now();
  axis_x = linear_axis(image->width, nw);
  axis_y = linear_axis(image->height, nh);
  r.timings.normalize += seconds_since(t0);

  inference_start = Clock::now();
  fill_seconds = 0.0;
  const int div = card.input.divisor;
  const int pw = round_up(nw, div), ph = round_up(nh, div);
  const int tile_px = std::max(div, params.tile_size / div * div);
  const int margin = round_up(std::max(0, params.overlap), div);
  if ((pw > tile_px || ph > tile_px) && tile_px <= 2 * margin)
    return fail("tile size " + std::to_string(tile_px) + " px leaves nothing between overlaps of " +
                std::to_string(margin) + " px on each side: use tiles larger than " +
                std::to_string(2 * margin) + " px or a smaller overlap");
  xs = tile_spans(pw, tile_px, margin);
  ys = tile_spans(ph, tile_px, margin);
  count = int(xs.size() * ys.size());
  index = 0;

  maps = StitchedMaps();
  maps.width = nw;
  maps.height = nh;
  if (card.kind == ModelKind::Star) {
    const int g = card.star.grid, R = card.star.n_rays;
    maps.grid = g;
    maps.grid_width = star_grid_size(nw, g);
    maps.grid_height = star_grid_size(nh, g);
    const size_t cells = size_t(maps.grid_width) * size_t(maps.grid_height);
    maps.prob.assign(cells, 0.0f);
    if (params.keep_maps)  // re-post-processing at another threshold needs every cell's rays
      maps.dist.assign(cells * size_t(R), 0.0f);
    else
      maps.dist_rows.assign(cells, UINT32_MAX);
  } else {
    if (params.keep_maps)  // re-post-processing at another threshold needs the probabilities
      maps.cellprob.assign(size_t(nw) * size_t(nh), 0.0f);
    else
      maps.foreground.assign(size_t(nw) * size_t(nh), 0);
    maps.flow = make_flow_field(nw, nh);
  }
  return prepare_tile();
}

// Makes tile `index`'s input and offers it.
bool PipelineRun::State::prepare_tile() {
  if (cancelled()) return fail("cancelled");
  report(PipelineStage::Inference, index, count);
  const Span& sx = xs[size_t(index) % xs.size()];
  const Span& sy = ys[size_t(index) / xs.size()];
  const int C = image->channels;
  Clock::time_point t0 = Clock::now();
  fill_tile_input(sx, sy);
  fill_seconds += seconds_since(t0);
  tile = NetworkTile();
  tile.data = input.data();
  tile.channels = C;
  tile.height = sy.length;
  tile.width = sx.length;
  tile.x = sx.start;
  tile.y = sy.start;
  tile.index = index;
  tile.count = count;
  tile.pass = pass;
  tile.scale = scale;
  phase = RunPhase::Tiles;
  return true;
}

// Copies the kept centre of a tile's outputs into the stitched maps.
void PipelineRun::State::stitch(const std::vector<NetworkOutput>& outs, const Span& sx, const Span& sy) {
  if (card.kind == ModelKind::Star) {
    const int g = card.star.grid, R = card.star.n_rays;
    const NetworkOutput& P = outs[size_t(card.output_index("prob"))];
    const NetworkOutput& D = outs[size_t(card.output_index("dist"))];
    const size_t plane = size_t(P.width) * size_t(P.height);
    const int gy1 = std::min(sy.keep_end / g, maps.grid_height);
    const int gx1 = std::min(sx.keep_end / g, maps.grid_width);
    const bool sparse = !maps.dist_rows.empty();
    const float threshold = float(r.prob_threshold);  // as star_postprocess compares
    for (int gy = sy.keep_begin / g; gy < gy1; ++gy) {
      const size_t ly = size_t(gy - sy.start / g);
      for (int gx = sx.keep_begin / g; gx < gx1; ++gx) {
        const size_t local = ly * size_t(P.width) + size_t(gx - sx.start / g);
        const size_t cell = size_t(gy) * size_t(maps.grid_width) + size_t(gx);
        const float p = P.data[local];
        maps.prob[cell] = p;
        float* d;
        if (!sparse) {
          d = maps.dist.data() + cell * size_t(R);
        } else if (p > threshold) {
          maps.dist_rows[cell] = uint32_t(maps.dist.size() / size_t(R));
          maps.dist.resize(maps.dist.size() + size_t(R));
          d = maps.dist.data() + maps.dist.size() - size_t(R);
        } else {
          continue;
        }
        for (int k = 0; k < R; ++k) d[k] = D.data[size_t(k) * plane + local];
      }
    }
    if (sparse && index == 0 && count > 1) {
      // Growing by doubling would leave up to half the rows' memory unused at the end: reserve
      // for the whole image at the first tile's share of candidates, plus a quarter.
      const double kept_cells = double(gy1 - sy.keep_begin / g) * double(gx1 - sx.keep_begin / g);
      const double share = kept_cells > 0 ? double(maps.dist.size()) / kept_cells : 0.0;
      maps.dist.reserve(size_t(1.25 * share * double(maps.dist_rows.size())) + maps.dist.size());
    }
  } else {
    const NetworkOutput& P = outs[size_t(card.output_index("cellprob"))];
    const NetworkOutput& F = outs[size_t(card.output_index("flow"))];
    const size_t plane = size_t(P.width) * size_t(P.height);
    const int y1 = std::min(sy.keep_end, nh), x1 = std::min(sx.keep_end, nw);
    for (int y = sy.keep_begin; y < y1; ++y) {
      for (int x = sx.keep_begin; x < x1; ++x) {
        const size_t local = size_t(y - sy.start) * size_t(P.width) + size_t(x - sx.start);
        const size_t p = size_t(y) * size_t(nw) + size_t(x);
        if (maps.cellprob.empty())
          maps.foreground[p] = P.data[local] > float(r.cellprob_threshold);  // as flow_foreground
        else
          maps.cellprob[p] = P.data[local];
        maps.flow.dy()[p] = F.data[local];
        maps.flow.dx()[p] = F.data[plane + local];
      }
    }
  }
}

bool PipelineRun::State::submit(const std::vector<NetworkOutput>& outs) {
  const Span& sx = xs[size_t(index) % xs.size()];
  const Span& sy = ys[size_t(index) / xs.size()];
  if (!check_outputs(outs, sx, sy)) return false;
  ++r.tiles;
  stitch(outs, sx, sy);
  if (++index < count) return prepare_tile();
  // The tiles' normalisation counts as normalisation, as it did when it ran before the first tile.
  r.timings.normalize += fill_seconds;
  r.timings.inference += seconds_since(inference_start) - fill_seconds;
  report(PipelineStage::Inference, count, count);
  std::vector<float>().swap(input);
  return end_pass();
}

Labels PipelineRun::State::postprocess() {
  if (card.kind == ModelKind::Star) {
    StarParams sp;
    sp.prob_thresh = float(r.prob_threshold);
    sp.nms_thresh = float(r.nms_threshold);
    return star_postprocess(maps.prob.data(), maps.dist.data(), maps.grid_width, maps.grid_height,
                            card.star.n_rays, maps.grid, maps.width, maps.height, sp,
                            maps.dist_rows.empty() ? nullptr : maps.dist_rows.data())
        .labels;
  }
  const FlowParams fp = flow_params();
  if (have_ends) {
    have_ends = false;
    return flow_masks_from_ends(ends, maps.flow, fp);
  }
  if (!maps.cellprob.empty()) return flow_postprocess(maps.cellprob.data(), maps.flow, fp);
  return flow_postprocess_owned(std::move(maps.flow), std::move(maps.foreground), fp);
}

FlowParams PipelineRun::State::flow_params() {
  // Paths grow with the object size: reference_niter steps at the card's diameter, scaled from there.
  const int niter = object_diameter_net > 0
                        ? std::max(1, int(std::lround(flow_niter_for_diameter(object_diameter_net, card.diameter) *
                                                      (card.flow.reference_niter / 200.0))))
                        : card.flow.reference_niter;
  r.niter = niter;
  FlowParams fp;
  fp.cellprob_threshold = float(r.cellprob_threshold);
  fp.flow_threshold = float(r.flow_threshold);
  fp.niter = niter;
  fp.flow_scale = float(card.flow.flow_scale);
  return fp;
}

// Post-processes the stitched maps of the pass; labels come back at the original size, numbered 1..N.
bool PipelineRun::State::end_pass() {
  if (cancelled()) return fail("cancelled");
  if (card.kind == ModelKind::Flow && external_dynamics && !have_ends) {
    report(PipelineStage::Postprocess);
    const FlowParams fp = flow_params();
    foreground = maps.cellprob.empty() ? std::move(maps.foreground)
                                       : flow_foreground(maps.cellprob.data(), maps.cellprob.size(), fp);
    dynamics = {&maps.flow, &foreground, fp.niter, fp.flow_scale};
    dynamics_start = Clock::now();
    phase = RunPhase::Dynamics;
    return true;
  }
  if (!have_ends) report(PipelineStage::Postprocess);
  Clock::time_point t0 = Clock::now();
  {
    Labels small = postprocess();  // gone before the full-size labels are made
    // The stitched outputs are done with: kept in the result, or freed before the labels at full
    // size are made.
    if (params.keep_maps) {
      PipelineMaps& m = r.maps;
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
    maps = StitchedMaps();
    r.labels = (nw == image->width && nh == image->height) ? std::move(small)
                                                           : resize_labels_nearest(small, image->width, image->height);
  }
  r.timings.postprocess += seconds_since(t0);

  r.passes = pass;
  r.scale = scale;
  r.network_width = nw;
  r.network_height = nh;
  if (pass == 1 && passes == 2) return after_first_pass();
  set_done();
  return true;
}

// Automatic diameter: the first pass ran at scale 1; its median object sets the second pass's scale.
bool PipelineRun::State::after_first_pass() {
  const double estimate = median_object_diameter(r.labels);
  if (estimate <= 0) {
    r.diameter = card.diameter;
    append_note(&r.note, "no objects found at scale 1, so the diameter could not be estimated; kept scale 1 "
                         "(give the diameter to rescale)");
    set_done();
    return true;
  }
  r.diameter = estimate;
  r.diameter_estimated = true;
  double s = card.diameter / estimate;
  const double lo = 1.0 / 8.0, hi = 8.0;
  if (s < lo || s > hi) {
    const double limited = std::min(std::max(s, lo), hi);
    append_note(&r.note, "estimated diameter " + fmt(estimate) + " px asks for a rescale by " + fmt(s) +
                         "; limited to " + fmt(limited));
    s = limited;
  }
  if (network_pixels(s) > pixel_limit()) {
    while (network_pixels(s) > pixel_limit()) s *= 0.95;
    append_note(&r.note, "rescale limited to " + fmt(s) + " to stay within " +
                         std::to_string(params.max_network_pixels) + " network pixels");
  }
  // The first pass was close enough: the networks are trained at random scales of 0.8-1.25 around
  // their diameter, and on the val split a second pass within 20% of scale 1 gains nothing for
  // either shipped model (models/README.md, "the skip tolerance"); 15% keeps a margin, and saves the
  // second pass for images near the training diameter (half the time at 512^2 in the browser).
  if (std::fabs(s - 1.0) <= 0.15) {
    set_done();
    return true;
  }
  r.labels = Labels();  // the first pass's labels served the estimate; the second pass makes its own
  r.count = 0;
  return start_pass(2, s, estimate * s);
}

bool PipelineRun::State::begin(const Image& source) {
  start = Clock::now();
  if (source.empty()) return fail("the image is empty");
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

  r.percentile_low = params.percentile_low.value_or(card.percentile_low);
  r.percentile_high = params.percentile_high.value_or(card.percentile_high);
  if (!(r.percentile_low >= 0 && r.percentile_low < r.percentile_high && r.percentile_high <= 100))
    return fail("percentiles " + fmt(r.percentile_low) + " and " + fmt(r.percentile_high) +
                " must satisfy 0 <= low < high <= 100");
  r.prob_threshold = params.prob_threshold.value_or(card.star.prob_threshold);
  r.nms_threshold = params.nms_threshold.value_or(card.star.nms_threshold);
  r.cellprob_threshold = params.cellprob_threshold.value_or(card.flow.cellprob_threshold);
  r.flow_threshold = params.flow_threshold.value_or(card.flow.flow_threshold);
  r.min_area = params.min_area.value_or(card.min_area);
  r.exclude_border = params.exclude_border;
  r.invert = params.invert;
  for (double t : {r.prob_threshold, r.nms_threshold, r.cellprob_threshold, r.flow_threshold})
    if (!std::isfinite(t)) return fail("thresholds must be finite numbers");
  if (!(r.min_area >= 0 && std::isfinite(r.min_area)))
    return fail("min_area must be a number of px, 0 or more");

  // Channel selection; the image itself serves when it already has the model's channels.
  Clock::time_point t0 = Clock::now();
  image = &source;
  ChannelSelection selection = params.channels;
  const bool named = !selection.channels.empty() || selection.merge || selection.stain != Stain::None;
  if (!named) {  // the run names none: what the model can read
    if (card.input.channels == 1 && source.channels > 1) {
      selection.merge = true;  // nuclei in every channel of an RGB picture: their mean (the page's default too)
    } else if (card.input.channels == 3 && source.channels == 4) {
      // An RGB model (stained slides) and an image that is RGB in all but form: an RGBA file's alpha
      // is no colour, and a grey scan of a slide gives its one channel to each of the three.
      selection.channels = {0, 1, 2};
      append_note(&r.note, "the model reads channels 1-3 of the image's 4 (red, green, blue; alpha left out)");
    } else if (card.input.channels == 3 && source.channels == 1) {
      selection.channels = {0, 0, 0};
      append_note(&r.note, "the model reads colour; this one-channel image gave its channel to red, green and blue");
    }
  }
  if (selection.stain != Stain::None && card.input.channels != 1)
    return fail(std::string("a stain (") + stain_name(selection.stain) + ") is one channel, and the model takes " +
                std::to_string(card.input.channels) + ": choose a one-channel model, or no stain");
  if (selection.stain != Stain::None && selection.estimate_stains) {
    std::string estimate_error;
    if (!estimate_stain_vectors(source, &selection.stain_vectors, &estimate_error)) return fail(estimate_error);
  }
  if (!selection.channels.empty() || selection.merge || selection.stain != Stain::None) {
    std::string select_error;
    if (!select_channels(source, selection, &selected, &select_error)) return fail(select_error);
    image = &selected;
  }
  r.channels = selection;
  if (image->channels != card.input.channels)
    return fail("the model takes " + std::to_string(card.input.channels) + " input channel" +
                (card.input.channels == 1 ? "" : "s") + " but the " +
                (image == &source ? "image has " : "channel selection gives ") + std::to_string(image->channels) +
                (card.input.channels == 1 ? ": choose one channel, or merge them" : ": choose the channels"));
  // A model finds what it was trained to see: on a picture of the other kind (fluorescence against
  // a stained slide, each the other's negative) it outlines the gaps between the objects. Say so.
  // Inverted, the network sees the negative, so that is what must match.
  r.background = image_background(*image);
  if (r.invert && r.background != Background::Unknown)
    r.background = r.background == Background::Bright ? Background::Dark : Background::Bright;
  const JsonValue* modality = card.training.find("modality");
  const Background trained = modality_background(modality && modality->is_string() ? modality->string : "");
  if (trained != Background::Unknown && r.background != Background::Unknown && trained != r.background) {
    const std::string looks = r.invert ? "inverted, this image looks like " : "this looks like ";
    append_note(&r.note, looks + (r.background == Background::Bright
                                      ? "a stained or brightfield image (dark objects on a bright background), "
                                        "and the model was trained on fluorescence (bright objects on a dark one)"
                                      : "a fluorescence image (bright objects on a dark background), and the model "
                                        "was trained on stained or brightfield images (dark objects on a bright one)"));
  }
  for (int c = 0; c < image->channels; ++c) {
    ChannelLevels lv;
    if (!channel_percentiles(*image, c, r.percentile_low, r.percentile_high, &lv.low, &lv.high))
      return fail("channel " + std::to_string(c) + " of the image has no finite sample to normalise");
    r.levels.push_back(lv);
  }
  r.timings.normalize += seconds_since(t0);

  const double given = params.diameter;
  if (given > 0) {
    const double s = card.diameter / given;
    if (network_pixels(s) > pixel_limit())
      return fail("at a diameter of " + fmt(given) + " px the image would be rescaled by " + fmt(s) + " to " +
                  std::to_string(scaled_size(image->width, s)) + " x " +
                  std::to_string(scaled_size(image->height, s)) + " px, more than the limit of " +
                  std::to_string(params.max_network_pixels) + " px: give a larger diameter or crop the image");
    r.diameter = given;
    passes = 1;
    return start_pass(1, s, card.diameter);
  }
  // Automatic: segment at scale 1, measure, then segment again at the scale that measure asks for.
  passes = 2;
  return start_pass(1, 1.0, 0.0);
}

PipelineRun::PipelineRun() : s_(new State) {}
PipelineRun::~PipelineRun() { delete s_; }

bool PipelineRun::begin(const Image& image, const ModelCard& card, const PipelineParams& params,
                        std::string* error) {
  delete s_;
  s_ = new State;
  s_->card = card;
  s_->params = params;
  if (s_->begin(image)) return true;
  if (error) *error = s_->error;
  return false;
}

void PipelineRun::set_external_flow_dynamics(bool on) { s_->external_dynamics = on; }

const FlowDynamicsRequest* PipelineRun::flow_dynamics() const {
  return s_->phase == RunPhase::Dynamics ? &s_->dynamics : nullptr;
}

bool PipelineRun::submit_end_points(const EndPoints& ends, std::string* error) {
  State& s = *s_;
  auto refuse = [&](const std::string& message) {
    if (error) *error = message;
    return false;
  };
  if (s.phase != RunPhase::Dynamics) {
    if (s.phase == RunPhase::Failed) return refuse(s.error);
    return refuse("the run is not waiting for flow end points");
  }
  // Every foreground pixel exactly once: the clustering counts end points, so a missing or doubled
  // pixel would change the masks without any other sign.
  size_t want = 0;
  for (uint8_t f : s.foreground) want += f != 0;
  const size_t n = ends.pixel.size();
  if (ends.y.size() != n || ends.x.size() != n || n != want)
    return refuse("the flow end points are " + std::to_string(n) + " pixels (" + std::to_string(ends.y.size()) +
                  " y, " + std::to_string(ends.x.size()) + " x); the foreground has " + std::to_string(want));
  std::vector<uint8_t> seen(s.foreground.size(), 0);
  for (size_t k = 0; k < n; ++k) {
    const uint32_t p = ends.pixel[k];
    if (p >= seen.size() || !s.foreground[p] || seen[p]++)
      return refuse("flow end point " + std::to_string(k) + " names pixel " + std::to_string(p) +
                    ", which is not a foreground pixel or came twice");
    if (!std::isfinite(ends.y[k]) || !std::isfinite(ends.x[k]))
      return refuse("flow end point " + std::to_string(k) + " is not a finite position");
  }
  s.ends = ends;
  s.have_ends = true;
  s.r.timings.postprocess += seconds_since(s.dynamics_start);
  s.phase = RunPhase::Tiles;  // end_pass moves on: Done, or the second pass
  std::vector<uint8_t>().swap(s.foreground);
  const bool ok = s.end_pass();
  s.ends = EndPoints();
  if (!ok) return refuse(s.error);
  return true;
}

const NetworkTile* PipelineRun::next_tile() const { return s_->phase == RunPhase::Tiles ? &s_->tile : nullptr; }

bool PipelineRun::submit(const std::vector<NetworkOutput>& outputs, std::string* error) {
  bool ok = false;
  if (s_->phase == RunPhase::Tiles) {
    ok = s_->submit(outputs);
  } else if (s_->phase != RunPhase::Failed) {
    s_->error = s_->phase == RunPhase::Idle ? "submit before begin: no tile was offered"
                                            : "submit after the last tile: the run has no tile waiting";
  }
  if (!ok && error) *error = s_->error;
  return ok;
}

void PipelineRun::fail_tile(const std::string& message) {
  if (s_->phase == RunPhase::Dynamics) {
    s_->fail("the flow dynamics failed" + (message.empty() ? std::string() : ": " + message));
    return;
  }
  if (s_->phase != RunPhase::Tiles) return;
  s_->fail("the network failed on tile " + std::to_string(s_->index + 1) + " of " + std::to_string(s_->count) +
           (message.empty() ? std::string() : ": " + message));
}

void PipelineRun::cancel() {
  if (s_->phase == RunPhase::Failed || s_->phase == RunPhase::Finished) return;
  s_->r.cancelled = true;
  s_->fail("cancelled");
}

bool PipelineRun::done() const { return s_->phase == RunPhase::Done; }

int PipelineRun::passes() const { return s_->passes; }

bool PipelineRun::finish(PipelineResult* result, std::string* error) {
  State& s = *s_;
  std::string message;
  switch (s.phase) {
    case RunPhase::Done: break;
    case RunPhase::Failed: message = s.error; break;
    case RunPhase::Idle: message = "the run was not begun"; break;
    case RunPhase::Tiles:
      message = "the run is not done: tile " + std::to_string(s.index + 1) + " of " + std::to_string(s.count) +
                " of pass " + std::to_string(s.pass) + " is waiting for the network";
      break;
    case RunPhase::Dynamics:
      message = "the run is not done: pass " + std::to_string(s.pass) + " is waiting for its flow end points";
      break;
    case RunPhase::Finished: message = "the run's result was already handed over"; break;
  }
  if (s.phase != RunPhase::Finished) {
    if (s.phase != RunPhase::Done && s.start != Clock::time_point()) s.r.timings.total = seconds_since(s.start);
    *result = std::move(s.r);
    s.r = PipelineResult();
  }
  if (!message.empty()) {
    if (error) *error = message;
    if (s.phase == RunPhase::Done) s.phase = RunPhase::Finished;
    return false;
  }
  s.phase = RunPhase::Finished;
  return true;
}

bool run_pipeline(const Image& image, const ModelCard& card, const NetworkFn& network,
                  const PipelineParams& params, PipelineResult* result, std::string* error) {
  *result = PipelineResult();
  if (!image.empty() && !network) {
    if (error) *error = "no network was given to the pipeline";
    return false;
  }
  PipelineRun run;
  bool ok = run.begin(image, card, params, nullptr);
  std::vector<NetworkOutput> outputs;
  while (ok) {
    const NetworkTile* tile = run.next_tile();
    if (!tile) break;
    outputs.clear();
    std::string network_error;
    if (!network(*tile, &outputs, &network_error)) {
      run.fail_tile(network_error);
      break;
    }
    ok = run.submit(outputs, nullptr);
  }
  return run.finish(result, error);
}

}  // namespace celldrop

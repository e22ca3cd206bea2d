// The segmentation pipeline in one place, shared by the page, the CLI and the tests:
//
//   image -> channel selection -> percentile normalisation (inverted if asked) -> rescale to the model's diameter
//         -> tiles with overlap -> network (a callback) -> stitch -> post-process (star or flow)
//         -> labels resized back to the original size -> objects under min_area px removed
//         (and, if asked, those the image border cuts).
//
// The network is a callback, so ONNX Runtime Web (page), onnxruntime-node (CLI) and fakes (tests) all
// plug in. It receives one normalised tile and returns the model card's outputs for it.
//
// Scale. Networks see well only near their training diameter, so the image is resampled (bilinear)
// by factor = card.diameter / diameter, the "network scale". With diameter = 0 (the default) it is
// estimated: a first pass at scale 1 is segmented and the median equivalent diameter of its objects
// sets the factor of a second pass (skipped when the factor is within 15% of 1). If the first pass
// finds nothing, scale 1 is kept and the result's note says so. Post-processing runs at network
// scale (ray distances and flows are in network pixels there), then labels are resized back
// (nearest).
//
// Tiling. The padded image (reflection at the right and bottom edges, up to multiples of
// card.input.divisor) is cut into tiles of at most tile_size px (rounded down to the divisor) that
// overlap: each tile keeps only its centre, `overlap` px (rounded up to the divisor) away from every
// edge it shares with a neighbouring tile, and the kept centres tile the image exactly. For a network
// whose receptive field reaches at most `overlap` px (and that is translation-equivariant for shifts
// by multiples of the divisor, as U-Nets are), the stitched outputs equal a single pass over the
// whole image bit for bit, and post-processing runs once on the stitched maps, so objects crossing
// tile borders are whole.
//
// Memory. At any time the pipeline holds the image (plus a copy when channels are selected or
// merged; the network's input is made tile by tile, never for the whole image), the stitched outputs
// at network scale (star: the probability and a row index per grid cell, 2 / grid^2 floats per
// network pixel, plus n_rays floats for each candidate above the probability threshold only -- all
// cells' rays, 33 / 4 floats per pixel for 32 rays on grid 2, only with keep_maps; flow: 2 floats and
// the foreground's byte per pixel, or 3 floats with keep_maps)
// and one tile with its outputs. The stitched outputs plus the post-processing's own buffers (the
// labels at network scale, and at the image's size) are the peak; a flow run's post-processing takes
// the stitched maps over (flow_postprocess_owned) and peaks while clustering: the flows, one
// image-sized array and 8 bytes per foreground pixel. bench/pipeline_memory measures it.
// max_network_pixels bounds the network-scale image.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/flow.h"
#include "core/image.h"
#include "core/model_card.h"
#include "core/normalize.h"

namespace celldrop {

// One tile handed to the network: 1 x channels x height x width floats (NCHW), height and width
// multiples of card.input.divisor.
struct NetworkTile {
  const float* data = nullptr;
  int channels = 0, height = 0, width = 0;
  int x = 0, y = 0;          // top-left corner in the padded network-scale image, px
  int index = 0, count = 0;  // tile `index` (0-based) of `count` in this pass
  int pass = 1;              // 1, or 2 for the second pass of an automatic diameter
  double scale = 1.0;        // network px per image px in this pass
};

// One output tensor for a tile: channels x height x width floats (planar, NCHW with N = 1). For a
// card output with grid g, height = tile.height / g and width = tile.width / g.
struct NetworkOutput {
  int channels = 0, height = 0, width = 0;
  std::vector<float> data;
};

// Runs the network on one tile; fills `outputs` in the order of card.outputs (fetch them by
// card.outputs[i].name). Returns false + error on failure; the pipeline stops and reports it.
using NetworkFn =
    std::function<bool(const NetworkTile& tile, std::vector<NetworkOutput>* outputs, std::string* error)>;

enum class PipelineStage : uint8_t { Normalize, Inference, Postprocess };
const char* pipeline_stage_name(PipelineStage stage);  // "normalize", "inference", "postprocess"

struct PipelineProgress {
  PipelineStage stage = PipelineStage::Normalize;
  int pass = 1, passes = 1;  // passes is 2 while an automatic diameter may need a second pass
  int tile = 0, tiles = 0;   // inference: tiles done so far (0..tiles); other stages: 0 of 0
};

struct PipelineParams {
  ChannelSelection channels;  // must give card.input.channels channels
  std::optional<double> percentile_low, percentile_high;  // default: the card's normalization
  // Normalised values become 1 - x (Cellpose's invert): dark objects on a bright background (a grey
  // brightfield picture) then look to a fluorescence model like what it was trained on.
  bool invert = false;
  double diameter = 0.0;      // object diameter in image px; 0 = automatic
  // Thresholds; default: the card's.
  std::optional<double> prob_threshold, nms_threshold;        // star
  std::optional<double> cellprob_threshold, flow_threshold;   // flow
  std::optional<double> min_area;  // objects under this many image px are removed at the end
  bool exclude_border = false;     // objects the image border cuts are removed at the end too
  int tile_size = 512;        // px at network scale, rounded down to a multiple of the divisor
  int overlap = 64;           // px of context beyond each kept centre, rounded up to the divisor
  int64_t max_network_pixels = int64_t(1) << 26;  // refuse (or, automatic: limit) larger rescales
  bool keep_maps = false;     // fill PipelineResult::maps with the final pass's stitched outputs

  std::function<void(const PipelineProgress&)> progress;  // optional
  std::function<bool()> cancel;  // optional; true = stop. Polled between stages and tiles.
};

struct PipelineTimings {  // seconds, summed over passes
  double normalize = 0.0;    // channel selection, percentiles, rescale
  double inference = 0.0;    // tile extraction, network calls, stitching
  double postprocess = 0.0;  // star/flow post-processing and resizing the labels back
  double total = 0.0;
};

// The final pass's stitched outputs at network scale (only with keep_maps), cropped to the
// network-scale image (width x height):
//   star: prob is grid_height x grid_width, dist grid_height x grid_width x n_rays ([gy][gx][k],
//         star.h's layout), grid cells of `grid` px;  flow: cellprob is height x width, flow planar.
struct PipelineMaps {
  int width = 0, height = 0;
  int grid = 1, grid_width = 0, grid_height = 0;
  std::vector<float> prob, dist;
  std::vector<float> cellprob;
  FlowField flow;
};

struct PipelineResult {
  Labels labels;  // original image size, objects 1..count
  int count = 0;

  double diameter = 0.0;         // image px: the given diameter, or the estimate
  bool diameter_estimated = false;
  double scale = 1.0;            // of the final pass: network px per image px
  int network_width = 0, network_height = 0;  // the final pass's network-scale image
  int passes = 0;
  int tiles = 0;                 // network calls, all passes
  double percentile_low = 0.0, percentile_high = 0.0;  // as used
  bool invert = false;           // as used
  ChannelSelection channels;     // as used: the parameters', or what an RGB model read (see begin)
  std::vector<ChannelLevels> levels;  // per network input channel: the values those percentiles had
  Background background = Background::Unknown;  // what the network's input looks like (image_background, after invert)
  double prob_threshold = 0.0, nms_threshold = 0.0;         // star, as used
  double cellprob_threshold = 0.0, flow_threshold = 0.0;    // flow, as used
  double min_area = 0.0;         // as used (0 = every object kept)
  bool exclude_border = false;   // as used
  int border_objects = 0;        // with exclude_border: how many objects it removed
  int niter = 0;                 // flow: Euler steps of the final pass
  PipelineTimings timings;
  std::string note;              // for the user, e.g. why an automatic diameter fell back to scale 1
  bool cancelled = false;
  PipelineMaps maps;
};

// Flow models, for a caller that runs the dynamics itself (PipelineRun::set_external_flow_dynamics):
// the pass's stitched flow field (network scale, as the network gave it), its foreground (cellprob
// above the threshold) and the follow_flows arguments. The caller answers with
// follow_flows(*flow, *foreground, niter, flow_scale)'s end points, computed however it likes.
struct FlowDynamicsRequest {
  const FlowField* flow = nullptr;
  const std::vector<uint8_t>* foreground = nullptr;
  int niter = 0;
  float flow_scale = 1.0f;
};

// The pipeline as an explicit stepper, for callers whose network is asynchronous (ONNX Runtime's
// session.run returns a promise in Node and in the browser): the caller pulls each tile, runs the
// network however it likes, and pushes the outputs back. run_pipeline is a loop over it, so both
// give the same labels bit for bit.
//
//   PipelineRun run;
//   if (!run.begin(image, card, params, &error)) ...;       // checks, channels, levels, first pass
//   while (const NetworkTile* t = run.next_tile()) {
//     ... outputs = network(*t) ...                           // t->data stays valid until submit
//     if (!run.submit(outputs, &error)) ...;                  // stitch; post-process after a pass's
//   }                                                         // last tile; maybe start pass 2
//   if (!run.finish(&result, &error)) ...;
//
// cancel() (or params.cancel, polled between stages and tiles) stops the run at any point; a failed
// or cancelled run offers no more tiles and finish() reports its error. `image` must stay alive and
// unchanged until finish() or the run's destruction; the card and params are copied.
class PipelineRun {
 public:
  PipelineRun();
  ~PipelineRun();
  PipelineRun(const PipelineRun&) = delete;
  PipelineRun& operator=(const PipelineRun&) = delete;

  // Validates the parameters against the card, selects channels, measures the percentiles and
  // prepares the first tile. False + error on a problem (the run is then failed).
  bool begin(const Image& image, const ModelCard& card, const PipelineParams& params, std::string* error);

  // The tile waiting for the network, or null when none is (not begun, done, failed, cancelled).
  const NetworkTile* next_tile() const;

  // The network's outputs for next_tile(), in the order of card.outputs. Checks their shapes,
  // stitches them, and after a pass's last tile post-processes (and, for an automatic diameter,
  // may start the second pass). False + error when the outputs are wrong or the run was cancelled.
  bool submit(const std::vector<NetworkOutput>& outputs, std::string* error);

  // Marks the network as failed on the current tile: the run stops with "the network failed on
  // tile i of n: <message>".
  void fail_tile(const std::string& message);

  // Flow models: after each pass's last tile, wait for the caller's end points instead of calling
  // follow_flows (the page integrates on the GPU). Set it before the first submit; star models
  // ignore it. While the run waits, next_tile() is null and flow_dynamics() is not.
  void set_external_flow_dynamics(bool on);
  const FlowDynamicsRequest* flow_dynamics() const;
  // The end points for flow_dynamics()'s request: every foreground pixel once. The rest of the
  // post-processing follows (and, for an automatic diameter, maybe the second pass). False + error on
  // a wrong set of end points or when no request is waiting. fail_tile() during the wait fails the run.
  bool submit_end_points(const EndPoints& ends, std::string* error);

  void cancel();      // stops now; finish() then says "cancelled" and result->cancelled is set
  bool done() const;  // every pass is post-processed: finish() will succeed
  int passes() const; // 1, or 2 while an automatic diameter may need a second pass

  // Hands over the result (the whole of it when done(); else what there is, with cancelled set
  // for a cancelled run). False + error unless done().
  bool finish(PipelineResult* result, std::string* error);

 private:
  struct State;
  State* s_ = nullptr;
};

// Runs the whole chain with a synchronous network: a loop over PipelineRun. False + error on a
// problem (the error is "cancelled" when the cancel hook asked to stop, with result->cancelled set);
// `result` is then incomplete.
bool run_pipeline(const Image& image, const ModelCard& card, const NetworkFn& network,
                  const PipelineParams& params, PipelineResult* result, std::string* error);

// Median equivalent-circle diameter 2 * sqrt(area / pi) of the objects, in px (numpy's median: the
// mean of the two middle values for an even count); 0 when there are none. The automatic diameter's
// measure, exposed for tests and the page.
double median_object_diameter(const Labels& labels);

}  // namespace celldrop

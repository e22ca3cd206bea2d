// The C entry points the training recipe (models/train, Python + ctypes) calls, so that training
// targets and validation use exactly the geometry the page and the CLI use at inference.
// Built natively as the shared library libcelldrop_train.so; never part of the WASM modules.
//
// Every function returns 0 on success and -1 on invalid arguments. Buffers are row-major; the caller
// allocates them with the sizes stated.
#include <cstdint>
#include <cstring>

#include "core/flow.h"
#include "core/metrics.h"
#include "core/star.h"

using namespace celldrop;

namespace {

Labels labels_from(const uint32_t* data, int width, int height) {
  Labels labels;
  labels.width = width;
  labels.height = height;
  labels.data.assign(data, data + size_t(width) * size_t(height));
  return labels;
}

bool valid_size(int width, int height) { return width > 0 && height > 0 && width < (1 << 16) && height < (1 << 16); }

}  // namespace

extern "C" {

// Unit flows toward each object's centre: out holds 2 * height * width floats (dy plane, dx plane).
int celldrop_masks_to_flows(const uint32_t* labels, int width, int height, float* out) {
  if (!labels || !out || !valid_size(width, height)) return -1;
  FlowField flow = masks_to_flows(labels_from(labels, width, height));
  std::memcpy(out, flow.data.data(), flow.data.size() * sizeof(float));
  return 0;
}

// StarDist-style post-processing (see core/star.h); out_labels holds out_height * out_width labels.
int celldrop_star_postprocess(const float* prob, const float* dist, int grid_width, int grid_height,
                              int n_rays, int grid, int out_width, int out_height, float prob_thresh,
                              float nms_thresh, uint32_t* out_labels) {
  if (!prob || !dist || !out_labels || !valid_size(out_width, out_height) || n_rays < 3 || grid < 1) return -1;
  StarParams params;
  params.prob_thresh = prob_thresh;
  params.nms_thresh = nms_thresh;
  StarResult result = star_postprocess(prob, dist, grid_width, grid_height, n_rays, grid, out_width,
                                       out_height, params);
  std::memcpy(out_labels, result.labels.data.data(), result.labels.data.size() * sizeof(uint32_t));
  return 0;
}

// Cellpose-style post-processing (see core/flow.h); flow is planar 2 x height x width.
int celldrop_flow_postprocess(const float* cellprob, const float* flow, int width, int height,
                              float cellprob_threshold, float flow_threshold, int niter,
                              float flow_scale, uint32_t* out_labels) {
  if (!cellprob || !flow || !out_labels || !valid_size(width, height) || niter < 1) return -1;
  FlowField field = make_flow_field(width, height);
  std::memcpy(field.data.data(), flow, field.data.size() * sizeof(float));
  FlowParams params;
  params.cellprob_threshold = cellprob_threshold;
  params.flow_threshold = flow_threshold;
  params.niter = niter;
  params.flow_scale = flow_scale;
  Labels labels = flow_postprocess(cellprob, field, params);
  std::memcpy(out_labels, labels.data.data(), labels.data.size() * sizeof(uint32_t));
  return 0;
}

// Matching counts at IoU > iou_threshold: counts[0..2] = TP, FP, FN.
int celldrop_match(const uint32_t* gt, const uint32_t* pred, int width, int height,
                   double iou_threshold, int* counts) {
  if (!gt || !pred || !counts || !valid_size(width, height)) return -1;
  MatchCounts m = match_labels(labels_from(gt, width, height), labels_from(pred, width, height), iou_threshold);
  counts[0] = m.tp;
  counts[1] = m.fp;
  counts[2] = m.fn;
  return 0;
}

}  // extern "C"

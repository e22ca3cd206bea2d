// The model contract: a model is an ONNX file plus a model card, the JSON that says how to feed the
// network and how to read its outputs. models/train/export.py writes cards; users may write their
// own for their own networks, so every field is checked here and every error names the field and
// says what would be accepted ("model card: outputs[1].channels is 16 but star.n_rays is 32").
//
// Format 1, every key required unless marked optional (unknown keys are refused, so a typo such as
// "percentile_hi" cannot silently fall back to a default):
//   {"name": "nuclei-star", "kind": "star" | "flow", "format": 1,
//    "input": {"name": "image", "channels": 1, "layout": "NCHW", "dtype": "float32", "divisor": 8},
//    "normalization": {"percentile_low": 1.0, "percentile_high": 99.8},
//    "diameter": 20.0,                     // px: the object size the network was trained at
//    "outputs": [...],                     // in any order; names are the roles:
//        star: {"name": "prob", "channels": 1, "grid": g}, {"name": "dist", "channels": n_rays, "grid": g}
//        flow: {"name": "cellprob", "channels": 1, "grid": 1}, {"name": "flow", "channels": 2, "grid": 1}
//    "thresholds": star {"prob": 0.5, "nms": 0.4} | flow {"cellprob": 0.0, "flow": 0.4},
//                  either may add "min_area": 25 (optional, image px; 0 when absent)
//    "star": {"n_rays": 32, "grid": 2}     (kind star only)
//    "flow": {"flow_scale": 5.0, "reference_niter": 200}   (kind flow only)
//    "training": {...}, "metrics": {...}   (optional, free-form provenance, kept for display)
//    "onnx": {"file": "x.onnx", "sha256": "<64 hex>", "bytes": N, "opset": 13, "weights": "float32"}}
//
// Output semantics: star prob is a probability (0..1) and dist the ray distances in network pixels
// (star.h's conventions); flow cellprob is a logit and flow the planar (dy, dx) field at flow_scale x
// unit flows (flow.h's conventions). Output grid g: the output is (H/g) x (W/g) for an H x W input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"

namespace celldrop {

enum class ModelKind : uint8_t { Star, Flow };
const char* model_kind_name(ModelKind kind);  // "star", "flow"

struct ModelInput {
  std::string name = "image";
  int channels = 1;  // 1..4
  int divisor = 8;   // the network's input height and width must be multiples of this (1..1024)
  // layout is always "NCHW" and dtype "float32": the only ones format 1 allows.
};

struct ModelOutput {
  std::string name;  // the role: "prob" / "dist" (star), "cellprob" / "flow" (flow)
  int channels = 0;
  int grid = 1;      // output stride: (H/grid) x (W/grid); divides input.divisor
};

struct StarSettings {
  int n_rays = 32;
  int grid = 1;
  double prob_threshold = 0.5;  // thresholds.prob, in [0, 1]
  double nms_threshold = 0.4;   // thresholds.nms, in [0, 1]
};

struct FlowSettings {
  double flow_scale = 5.0;         // the network's flows are flow_scale x unit flows
  int reference_niter = 200;       // Euler steps for objects of the card's diameter
  double cellprob_threshold = 0.0; // thresholds.cellprob (a logit)
  double flow_threshold = 0.4;     // thresholds.flow (mean squared flow error; 0 disables QC)
};

struct OnnxFileInfo {
  std::string file;      // a plain file name next to the card (no folders)
  std::string sha256;    // 64 lowercase hex digits (upper case in the card is accepted and lowered)
  uint64_t bytes = 0;
  int opset = 0;
  std::string weights;   // "float32", "float16", "int8" or "uint8"
};

struct ModelCard {
  std::string name;
  ModelKind kind = ModelKind::Star;
  int format = 1;
  ModelInput input;
  double percentile_low = 1.0;   // normalization
  double percentile_high = 99.8;
  double diameter = 0.0;         // px
  double min_area = 0.0;         // thresholds.min_area: smaller objects (image px) are removed; 0 = none
  std::vector<ModelOutput> outputs;  // as listed in the card (2 entries)
  StarSettings star;             // kind Star only
  FlowSettings flow;             // kind Flow only
  JsonValue training;            // free-form; null when absent
  JsonValue metrics;             // free-form; null when absent
  OnnxFileInfo onnx;

  // Index into `outputs` of the output with that role name, or -1.
  int output_index(const std::string& name) const;
};

// Parses and validates a card. False + an error starting "model card: " that names the field.
bool parse_model_card(const char* json, size_t size, ModelCard* card, std::string* error);
inline bool parse_model_card(const std::string& json, ModelCard* card, std::string* error) {
  return parse_model_card(json.data(), json.size(), card, error);
}

// Checks that `onnx` (the model file's bytes) is the file the card describes: its size and its
// SHA-256 must both match onnx.bytes and onnx.sha256.
bool check_model_bytes(const ModelCard& card, const void* onnx, size_t size, std::string* error);

// Checks the names an inference runtime reports for a loaded session against the card: exactly one
// input, named card.input.name, and every output the card lists present among output_names (extra
// outputs are allowed; they are not fetched). When the runtime knows channel counts (the size of
// dimension 1 of NCHW tensors), pass them in the same order as the names; -1 (or a missing entry)
// means unknown (a symbolic dimension) and is not checked.
bool validate_model_io(const ModelCard& card, const std::vector<std::string>& input_names,
                       const std::vector<std::string>& output_names, std::string* error,
                       const std::vector<int64_t>& input_channels = {},
                       const std::vector<int64_t>& output_channels = {});

}  // namespace celldrop

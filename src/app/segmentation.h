// Segmentation as the page's module sees it: the worker (web/worker.js, through web/segment.js)
// does the work; this is the state the UI shows and the two calls it makes. The worker's messages
// arrive through the exported cd_app_* callbacks in segmentation.cpp, between frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "app/models.h"
#include "core/image.h"
#include "core/labels.h"
#include "core/normalize.h"

namespace celldrop {

struct Segmentation {
  bool models_known = false;  // index.json has been read (possibly listing none)
  std::vector<ModelChoice> models;
  std::string model_added;  // a model of the user's, just checked and listed: the page selects it
  std::string model_error;  // why the user's last model could not be used; empty after a success

  bool running = false;
  std::string stage;  // "loading" (core, ONNX Runtime, model) or "tiles"
  int tile = 0, tiles = 0, pass = 0, passes = 0;
  double elapsed_s = 0.0;
  std::string backend;
  std::string fallback;  // why the last run did not use WebGPU when it could have (the worker's sentence)

  std::string running_params;  // the parameters of the run in progress (params_json once it is done)
  // What decides the network's outputs (model, backend, image, every parameter but the thresholds)
  // of the run in progress and of the last result: when only thresholds change, the worker can
  // post-process the last result's kept outputs again instead of running the network.
  std::string running_key, result_key;
  bool running_live = false;  // the run in progress was asked to reuse the last network outputs
  std::string error;     // the last run's failure, a sentence for the user; empty after a success
  bool cancelled = false;  // the last run was cancelled by the user

  // The last result, for the image it was made from.
  bool has_result = false;
  bool result_changed = false;  // set on arrival; the UI rebuilds the overlay and clears it
  Labels labels;
  Labels incoming;  // the worker's labels on their way in (cd_app_labels_buffer, then cd_app_done)
  std::vector<uint32_t> areas;
  int objects = 0;
  // The user's edits to the last result (false detections removed, missed nuclei drawn), in order:
  // undo reverts the last. The other objects keep their ids. A new result starts with none.
  struct AppliedEdit {
    HandEdit edit;
    EditedObject changed;
  };
  std::vector<AppliedEdit> edits;
  uint32_t next_id = 1;  // the id the next drawn object gets: one above every id the result has had
  bool result_edited = false;  // with result_changed: the change is an edit or its undo, not a run
  // A position-weighted checksum of the labels, sum of id x (index x 2654435761 + 1) mod 2^32,
  // published so tests can compare the page's labels with another program's, pixel for pixel.
  uint32_t checksum = 0;
  std::string model_name;
  std::string model_sha256;  // of the ONNX file that ran (the card's, which the worker checked)
  std::string params_json;   // the parameters the run was started with, as sent to the worker
  std::string summary_json;  // the run's summary (pipeline_summary_json), for the run record
  int threads = 0;
  // From the run's summary (pipeline_summary_json): the diameter used and how it was chosen.
  double diameter = 0.0;
  bool diameter_estimated = false;
  int tiles_run = 0;
  int border_objects = 0;  // objects the border cut, left out (exclude_border)
  std::string note;  // the core's remark on the run, if any
  Background background = Background::Unknown;  // of the image the last result came from, as the network saw it
  bool inverted = false;   // the last result's network saw the image inverted
  // The last result was read through a stain (a brightfield slide), unmixed with these colours,
  // estimated from the slide or the standard ones: its objects' stain densities are measured with them.
  bool read_through_stain = false;
  StainVectors stain_vectors;
  bool stain_vectors_estimated = false;
  // Seconds by stage, from the worker: loading the model, decoding the image, the network,
  // post-processing (star NMS / flow dynamics and masks), and the whole run.
  double model_s = 0.0, decode_s = 0.0, inference_s = 0.0, postprocess_s = 0.0, total_s = 0.0;
  bool reused = false;  // the last result came from the run before's network outputs, re-post-processed
  int runs_finished = 0;  // successful runs since the page opened
  int runs_started = 0;   // runs started since the page opened (each ends in a result, an error or a cancel)
  bool dirty = false;  // a message arrived: the page must draw a frame to show it
};

Segmentation& segmentation();

// Asks the page for the list of models (the answer arrives later).
void segmentation_init();
// Starts a run of `model` on page `page` of an encoded image file; params_json as the C API's cd_run_start reads it.
// backend: "auto" (WebGPU when the browser has it, else WASM), "webgpu" or "wasm". key: what decides
// the network's outputs (see Segmentation::result_key). reuse: only thresholds changed since the last
// result, whose network outputs the worker may post-process again (it runs the network if it must).
void segmentation_start(const std::string& model, const std::vector<uint8_t>& image_file, int page, const char* image_name,
                        const std::string& params_json, const std::string& backend, const std::string& key,
                        bool reuse);
void segmentation_cancel();
// Edits by hand to the last result: removes object `id`, draws a new object inside `outline` (image
// pixels; returns its id, 0 when nothing was drawn, see draw_object), or reverts the last edit. False
// (or 0) when there is no such object, no free pixel inside or nothing to undo. Measurements, outlines
// and exports follow (result_changed).
bool segmentation_remove_object(uint32_t id);
uint32_t segmentation_draw_object(const std::vector<Point2>& outline);
bool segmentation_undo_edit();
// The edits so far, in order (for the run record and share links).
std::vector<HandEdit> segmentation_edits();

// Cancels the run in progress and forgets it (its masks would belong to an image no longer shown),
// and drops the last result: for a newly opened image.
void segmentation_forget();

}  // namespace celldrop

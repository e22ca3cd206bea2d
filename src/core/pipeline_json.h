// The pipeline's parameters and results as JSON text: what the C API (and through it the CLI and the
// page's worker) exchanges with the core, and what the run record lists. Kept in the core so every
// front end reads the same keys the same way.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/export.h"
#include "core/json.h"
#include "core/model_card.h"
#include "core/pipeline.h"

namespace celldrop {

// Reads a JSON object of run parameters into *params; every key is optional (absent = the default:
// the card's value, or PipelineParams'), unknown keys are refused so a typo cannot pass silently:
//   {"diameter": 0 (automatic) | px, "channel": N (0-based) | null (every channel),
//    "channels": [N, ...], "merge": false, "stain": "hematoxylin" | "dab" | null (instead of channels:
//    an RGB slide's stain density), "estimate_stains": false, "tile": 512, "overlap": 64,
//    "percentile_low": 1.0, "percentile_high": 99.8, "invert": false,
//    "prob_thresh": 0.5, "nms_thresh": 0.4, "cellprob_thresh": 0.0, "flow_thresh": 0.4,
//    "min_area": 25 (image px), "exclude_border": false (true: objects the border cuts are removed)}
// False + an error naming the key ("parameters: tile must be a whole number of px, not 12.5").
bool parse_pipeline_params(const char* json, size_t size, PipelineParams* params, std::string* error);

// The run parameter that overrides a card threshold, as parse_pipeline_params reads it: the card's
// (and the summaries') "prob", "nms", "cellprob" and "flow" are "prob_thresh" ... "flow_thresh";
// "min_area" is "min_area" in both.
std::string threshold_parameter(const std::string& card_key);

// Every parameter a finished run used, for the run record, in a fixed order: the kind's thresholds,
// min_area, exclude_border, diameter (as used) and how it was chosen, scale, passes, tiles, tile size and overlap,
// percentiles, invert and the levels they gave per channel, channel selection, flow steps.
std::vector<std::pair<std::string, RecordValue>> pipeline_record_parameters(const ModelCard& card,
                                                                            const PipelineParams& params,
                                                                            const PipelineResult& result);

// The timings of a run as the record's stage -> seconds list.
std::vector<std::pair<std::string, double>> pipeline_record_timings(const PipelineResult& result);

// A short JSON summary of a finished run, for the CLI's summary line and the page's status:
//   {"objects", "diameter", "diameter_estimated", "scale", "passes", "tiles", "network_width",
//    "network_height", "thresholds": {...}, "exclude_border", "border_objects" (how many it removed),
//    "note", "timings_s": {...}}
std::string pipeline_summary_json(const ModelCard& card, const PipelineResult& result);

// Reads back a summary's "stain_vectors" (the run read the slide through a stain): the colours it was
// unmixed with and whether they were estimated. False when the summary has none; an entry that is
// not three numbers leaves that vector as it was.
bool summary_stain_vectors(const JsonValue& summary, StainVectors* vectors, bool* estimated);

}  // namespace celldrop

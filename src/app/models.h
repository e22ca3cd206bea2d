// The models the page offers, as their cards describe them, and the choices made among them: which
// values a threshold takes, and which model suits an image. No browser in here (tests/app runs it).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/normalize.h"

namespace celldrop {

struct ModelChoice {
  std::string name;
  std::string kind;  // "star" or "flow"
  double diameter = 0.0;
  // The card's thresholds as run parameters ("prob_thresh", ...) with their defaults.
  std::vector<std::pair<std::string, double>> thresholds;
  // From the card itself (segment.js reads it beside index.json): the ONNX file's sha256, which a
  // share link names, the normalisation defaults the parameters panel starts from, and how many
  // channels the network takes (multichannel images must be reduced to that).
  std::string sha256;
  double percentile_low = 1.0, percentile_high = 99.8;
  int input_channels = 1;
  std::string modality;  // the card's training.modality ("fluorescence", "histology"), or ""
  bool own = false;  // loaded by the user from their computer for this session (not the site's)
};

// How a threshold parameter is set: the values the page API and share links accept, and its
// slider's span (a logit's useful part; min_area in image px, on a logarithmic scale).
struct ThresholdRange {
  double lo, hi;
  double slider_lo, slider_hi;
  bool area;  // min_area: whole px, a logarithmic slider
};
ThresholdRange threshold_range(const std::string& parameter);

// Whether `model` was trained on pictures of the other kind than one whose background (as the network
// saw it) is `background`; false when either is unknown.
bool background_mismatch(const ModelChoice& model, Background background);

// When the model `current` was trained on pictures of the other kind than one whose background is
// `background` (fluorescence against stained or brightfield slides), a listed model trained on this
// kind: `preferred` (the page's default) if it is one, else the first. -1 when none is needed or none fits.
int model_for_background(const std::vector<ModelChoice>& models, int current, Background background,
                         const std::string& preferred);

}  // namespace celldrop

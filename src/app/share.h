// Reproducible share links: everything that determines a result, written into the URL fragment
// (never sent to any server: browsers keep the fragment to themselves) and read back from it.
//
//   #celldrop=1&app=0.1.0&model=nuclei-star&model_sha256=<64 hex>&backend=wasm
//    &image_sha256=<64 hex>&image_page=<N, a multi-page TIFF's page but the first>
//    &image=<URL, when the image came from ?image=>&pixel_size_um=<the user's calibration, when the
//     user gave one: it decides the areas in um^2>&p.diameter=0&p.prob_thresh=0.6...
//    &positive=<N, the marker's channel from 0: nuclei counted positive by Otsu's threshold>
//     or <N:T, by the threshold T>, or a stain in the channel's place (dab, dab:0.2); graded (1+, 2+,
//     3+) N:T1,T2,T3 (dab:0.2,0.4,0.6), as the CLI's --positive
//    &edits=r17.d10_20_30_20_30_40.r4 (edits by hand to the result, in order: r<id> removes object
//     id; d<x_y_x_y...> draws an object inside that outline, integer image pixels, at least 3 points.
//     Links from before drawing say removed=17.4 for r17.r4, and still open)
//
// Parameters are the exact JSON values the page sends to the worker (p.<key>=<number|true|false|null>),
// so the same link, image and backend run the same computation.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/labels.h"
#include "core/stains.h"

namespace celldrop {

struct ShareState {
  std::string app_version;
  std::string model, model_sha256;
  std::string backend;
  std::string image_sha256;
  int image_page = 0;     // of a multi-page TIFF, 0-based
  std::string image_name;
  std::string image_url;  // "" unless the image was downloaded from a URL
  double pixel_size_um = 0.0;  // the pixel size the user gave (micrometres); 0 = the file's
  std::vector<std::pair<std::string, std::string>> params;  // key -> JSON value text, in run order
  std::vector<HandEdit> edits;  // edits by hand to the result these make, in order (outlines in whole pixels)
  // Counting marker-positive nuclei: the marker's channel (from 0) or stain (-1 and None: not
  // counting) and the threshold (NaN: Otsu's). It changes no label, only what is counted, so it is
  // not a parameter.
  int positive_channel = -1;
  Stain positive_stain = Stain::None;
  double positive_threshold = std::nan("");
  double positive_grades[2] = {std::nan(""), std::nan("")};  // the 2+ and 3+ thresholds; NaN: not graded
};

// The fragment, without the leading '#'. Values are percent-encoded (RFC 3986 unreserved kept).
std::string share_fragment(const ShareState& state);

// Reads a fragment (with or without '#'). False + a sentence when it is not a CellDrop link or is
// malformed; unknown keys are ignored so newer links still open, with *unknown listing them.
bool parse_share_fragment(const std::string& fragment, ShareState* state, std::vector<std::string>* unknown,
                          std::string* error);

std::string percent_encode(const std::string& text);
// False when a '%' is not followed by two hex digits.
bool percent_decode(const std::string& text, std::string* out);

}  // namespace celldrop

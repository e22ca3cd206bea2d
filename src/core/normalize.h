// Network input preparation: choose or merge channels, then percentile-normalise each channel to float.
//
// Both steps match what StarDist and Cellpose do before inference, so models trained with their
// pipelines see the same value ranges here: x' = (x - p_low) / (p_high - p_low) per channel, with p_low
// and p_high the 1st and 99.8th percentiles by default, not clipped (values beyond them fall outside 0..1
// on purpose: bright nuclei must stay brighter than the 99.8th percentile).
#pragma once

#include <string>
#include <vector>

#include "core/image.h"
#include "core/stains.h"

namespace celldrop {

struct ChannelSelection {
  std::vector<int> channels;  // input channel indices (0-based) in output order; empty = every channel
  bool merge = false;         // true: one output channel, the per-pixel mean of the selected channels
  // Instead of channels: one stain's density by colour deconvolution of an RGB picture (stains.h), e.g.
  // the hematoxylin of an immunohistochemistry slide, which a fluorescence model reads as its nuclei.
  Stain stain = Stain::None;
  // The stains' colours (stains.h): Ruifrok & Johnston's, or with estimate_stains the slide's own,
  // which the pipeline estimates and then holds here, as used.
  bool estimate_stains = false;
  StainVectors stain_vectors;
};

struct PercentileRange {
  double low = 1.0;    // percent, 0..100
  double high = 99.8;  // percent, low < high <= 100
};

// The values a channel was normalised with, for the run record and for showing the user.
struct ChannelLevels {
  double low = 0.0;   // value of the low percentile
  double high = 0.0;  // value of the high percentile
};

// Picks channels (output keeps the input's sample type), merges them by mean (output is float32,
// since a mean of integers is not an integer) or unmixes a stain (float32). Pixel size is carried
// over. False + error for an index out of range, or a stain asked for beside channels.
bool select_channels(const Image& in, const ChannelSelection& selection, Image* out, std::string* error);

// Exact percentiles of one channel with numpy.percentile's default ("linear") convention: the p-th
// percentile of n sorted values v is v[i] + f * (v[i+1] - v[i]) with i + f = p / 100 * (n - 1).
// Non-finite float samples (NaN, inf) are left out. 8 and 16-bit channels use a histogram (O(n));
// 32-bit ones use nth_element (O(n) expected). Returns false only for an image with no finite sample
// in that channel.
bool channel_percentiles(const Image& img, int channel, double low_percent, double high_percent,
                         double* low_value, double* high_value);

// Percentile-normalises every channel into a float32 image of the same geometry. When a channel's two
// percentiles are equal (a constant or nearly empty channel) it is only shifted (x - p_low), never
// divided by ~0, so a flat channel becomes 0 instead of infinities. Non-finite samples become 0.
// `levels` (optional) receives one entry per channel.
bool normalize_percentiles(const Image& in, const PercentileRange& range, Image* out,
                           std::vector<ChannelLevels>* levels, std::string* error);

// Fluorescence pictures show bright objects on a dark background; brightfield ones and stained slides
// (H&E) dark objects on a bright one. Each looks to a model of the other like its negative, so a model
// of one kind finds the gaps between the objects in the other.
enum class Background { Unknown, Dark, Bright };

// Which the image looks like: Bright when the median of the per-pixel mean of its colour channels
// (channels 1-3 of an RGB(A) image, every channel of others) lies nearer their 99th percentile than
// their 1st. On the DSB2018 images that holds for 106 of the 107 H&E and all 16 brightfield ones, and
// for 1 of the 541 fluorescence ones. Read from at most about a million pixels (a regular grid):
// a hint for choosing a model, never a decision. Unknown for an empty or flat image.
Background image_background(const Image& image);

// The background a model's training pictures had, from its card's training.modality: "fluorescence"
// Dark; "histology" and "brightfield" Bright; anything else (or nothing) Unknown.
Background modality_background(const std::string& modality);

// select_channels, then normalize_percentiles: the input of every model.
bool prepare_network_input(const Image& in, const ChannelSelection& selection,
                           const PercentileRange& range, Image* out, std::vector<ChannelLevels>* levels,
                           std::string* error);

}  // namespace celldrop

// Synthetic nuclei: a deterministic generator of fluorescence-like images with exact ground truth.
// It is the page's embedded sample, the tests' fixture and a classroom aid. The same seed and
// parameters give the same image and labels on every platform (own RNG and distributions: the
// standard library's distributions differ between libstdc++ and Emscripten's libc++).
#pragma once

#include <cstdint>
#include <string>

#include "core/image.h"

namespace celldrop {

struct SynthParams {
  uint64_t seed = 1;
  int width = 512;
  int height = 512;
  int bits = 16;                 // 8 or 16: sample type of the image
  double mean_diameter = 22.0;   // px; individual nuclei vary around it
  double diameter_spread = 0.25; // relative standard deviation of the diameter
  double density = 0.35;         // fraction of the area covered by nuclei
  int count = 0;                 // > 0: place this many nuclei instead of deriving it from density
  double overlap = 0.15;         // how far neighbours may overlap, as a fraction of their radius
  double blur_sigma = 1.2;       // px, optical blur
  double background = 0.08;      // mean background level relative to nuclear signal, uneven
  double photons = 300.0;        // expected photons at full signal (Poisson noise); <= 0 disables
  double read_noise = 2.0;       // read noise, in photons (Gaussian)
};

struct SynthResult {
  Image image;    // 1 channel, uint8 or uint16
  Labels labels;  // exact ground truth: 0 background, 1..N nuclei; overlaps belong to the top nucleus
  int count = 0;       // N
  int overlapped = 0;  // how many of the N are partly covered by a nucleus drawn later
  std::string error;  // non-empty when the parameters were rejected; image and labels are then empty
};

SynthResult synthesize_nuclei(const SynthParams& params);

}  // namespace celldrop

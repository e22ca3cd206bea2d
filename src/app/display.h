// Display mapping of the viewer: one channel of an image, a [low, high] contrast window, an 8-bit
// grayscale result; or, for RGB(A) images, the first three channels in colour through one window.
// Display only: the samples the pipeline works on are never altered.
//
// 16-bit and float images are mapped from their full-precision values (a 65536-entry table for
// uint16), so narrowing the window to a few hundred grey levels of a 16-bit image shows real
// detail rather than a stretched 8-bit copy.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace celldrop {

struct ContrastWindow {
  double low = 0.0;   // values <= low show black
  double high = 1.0;  // values >= high show white
};

struct ChannelStats {
  double min = 0.0;  // smallest and largest sample of the channel
  double max = 0.0;
  ContrastWindow auto_window;  // the 0.1th and 99.9th percentiles: what "Auto" picks
  // Sample counts over [min, max] in equal bins, for the contrast panel's histogram.
  std::vector<float> histogram;
};

constexpr double kAutoLowPercentile = 0.1;
constexpr double kAutoHighPercentile = 99.9;
constexpr int kHistogramBins = 128;

// Exact for uint8/uint16 (counts every value); for uint32/float32 the percentiles are found to
// within 1/65536 of the channel's range.
ChannelStats channel_stats(const Image& image, int channel);

// Colour view: a three- or four-channel image is a colour picture (a photograph, an H&E slide), and
// shown one channel at a time in grey it looks like none of what its owner knows. Channels 1-3 are
// red, green and blue; a fourth (alpha) is not shown.
bool has_colour_view(const Image& image);

// The statistics of channels 1-3 pooled: the colour view has one window for all three, as ImageJ's
// RGB images do, so the stain's hues stay as they are (a window per channel would shift them).
ChannelStats colour_stats(const Image& image);

// The window the colour view opens with: 8-bit images as stored (0-255, the picture as any viewer
// shows it), deeper ones at the pooled percentiles (their "as stored" is mostly black).
ContrastWindow colour_default_window(const Image& image, const ChannelStats& pooled);

// One byte per pixel, row-major: 0 at or below window.low, 255 at or above window.high, linear and
// rounded between. A window with high <= low shows a threshold at low.
void map_to_gray(const Image& image, int channel, ContrastWindow window, std::vector<uint8_t>* gray);

// Three bytes per pixel (red, green, blue: channels 1-3), each mapped as map_to_gray maps its value.
// An image without a colour view gives black.
void map_to_rgb(const Image& image, ContrastWindow window, std::vector<uint8_t>* rgb);

// The byte map_to_gray gives one value: the browser test checks rendered pixels against it.
uint8_t gray_level(double value, ContrastWindow window);

}  // namespace celldrop

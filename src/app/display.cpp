#include "app/display.h"

#include <algorithm>
#include <cmath>

namespace celldrop {

uint8_t gray_level(double value, ContrastWindow w) {
  if (!(w.high > w.low)) return value > w.low ? 255 : 0;  // also catches NaN windows
  if (!(value > w.low)) return 0;                          // NaN samples show black
  if (value >= w.high) return 255;
  return uint8_t(std::lround((value - w.low) / (w.high - w.low) * 255.0));
}

// Sample i of `channel` as a double, whatever the stored type.
static double sample_at(const Image& img, size_t pixel, int channel) {
  size_t i = pixel * size_t(img.channels) + size_t(channel);
  switch (img.type) {
    case SampleType::U8: return samples<uint8_t>(img)[i];
    case SampleType::U16: return samples<uint16_t>(img)[i];
    case SampleType::U32: return samples<uint32_t>(img)[i];
    case SampleType::F32: return samples<float>(img)[i];
  }
  return 0.0;
}

// Smallest bin index whose cumulative count exceeds `rank` samples.
static size_t rank_bin(const std::vector<uint64_t>& counts, double rank) {
  uint64_t seen = 0;
  for (size_t b = 0; b < counts.size(); b++) {
    seen += counts[b];
    if (double(seen) > rank) return b;
  }
  return counts.empty() ? 0 : counts.size() - 1;
}

// The statistics of channels first .. first + count - 1 pooled: every sample of each counts once.
static ChannelStats pooled_stats(const Image& img, int first, int count) {
  ChannelStats s;
  s.histogram.assign(kHistogramBins, 0.0f);
  size_t n = size_t(img.width) * size_t(img.height);
  if (img.empty() || first < 0 || count < 1 || first + count > img.channels || n == 0) return s;

  bool integer = img.type == SampleType::U8 || img.type == SampleType::U16;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t p = 0; p < n; p++) {
    for (int channel = first; channel < first + count; channel++) {
      double v = sample_at(img, p, channel);
      if (!std::isfinite(v)) continue;  // NaN and inf have no place on a grey ramp
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo <= hi)) return s;  // no finite sample: nothing to show, window stays [0, 1]
  s.min = lo;
  s.max = hi;

  // Fine counts for the percentiles: one bin per value for 8/16-bit, 65536 bins over the range else.
  size_t fine_bins = integer ? size_t(hi - lo) + 1 : 65536;
  double fine_scale = (hi > lo && !integer) ? (fine_bins - 1) / (hi - lo) : 1.0;
  std::vector<uint64_t> fine(fine_bins, 0);
  double coarse_scale = hi > lo ? kHistogramBins / (hi - lo) : 0.0;
  size_t counted = 0;
  for (size_t p = 0; p < n; p++) {
    for (int channel = first; channel < first + count; channel++) {
      double v = sample_at(img, p, channel);
      if (!std::isfinite(v)) continue;
      fine[size_t((v - lo) * fine_scale)]++;
      int b = std::min(kHistogramBins - 1, int((v - lo) * coarse_scale));
      s.histogram[b] += 1.0f;
      counted++;
    }
  }
  auto value_of = [&](size_t bin) { return integer ? lo + double(bin) : lo + bin / fine_scale; };
  s.auto_window.low = value_of(rank_bin(fine, counted * kAutoLowPercentile / 100.0));
  s.auto_window.high = value_of(rank_bin(fine, counted * kAutoHighPercentile / 100.0));
  if (!(s.auto_window.high > s.auto_window.low)) s.auto_window = {lo, hi};  // flat images
  return s;
}

ChannelStats channel_stats(const Image& img, int channel) { return pooled_stats(img, channel, 1); }

bool has_colour_view(const Image& img) { return !img.empty() && (img.channels == 3 || img.channels == 4); }

ChannelStats colour_stats(const Image& img) {
  return has_colour_view(img) ? pooled_stats(img, 0, 3) : pooled_stats(img, 0, 0);
}

ContrastWindow colour_default_window(const Image& img, const ChannelStats& pooled) {
  if (img.type == SampleType::U8) return {0.0, 255.0};
  return pooled.auto_window;
}

// Channel `channel` of every pixel to out[p * out_stride], mapped through `window`.
static void map_channel(const Image& img, int channel, ContrastWindow window, uint8_t* out, size_t out_stride) {
  size_t n = size_t(img.width) * size_t(img.height);
  size_t stride = size_t(img.channels);
  // Integer images go through a table of every possible value: the exact mapping, computed once.
  if (img.type == SampleType::U8 || img.type == SampleType::U16) {
    size_t values = img.type == SampleType::U8 ? 256 : 65536;
    std::vector<uint8_t> lut(values);
    for (size_t v = 0; v < values; v++) lut[v] = gray_level(double(v), window);
    if (img.type == SampleType::U8) {
      const uint8_t* src = samples<uint8_t>(img) + channel;
      for (size_t p = 0; p < n; p++) out[p * out_stride] = lut[src[p * stride]];
    } else {
      const uint16_t* src = samples<uint16_t>(img) + channel;
      for (size_t p = 0; p < n; p++) out[p * out_stride] = lut[src[p * stride]];
    }
    return;
  }
  for (size_t p = 0; p < n; p++) out[p * out_stride] = gray_level(sample_at(img, p, channel), window);
}

void map_to_gray(const Image& img, int channel, ContrastWindow window, std::vector<uint8_t>* gray) {
  gray->resize(size_t(img.width) * size_t(img.height));
  if (img.empty() || channel < 0 || channel >= img.channels) {
    std::fill(gray->begin(), gray->end(), 0);
    return;
  }
  map_channel(img, channel, window, gray->data(), 1);
}

void map_to_rgb(const Image& img, ContrastWindow window, std::vector<uint8_t>* rgb) {
  rgb->resize(size_t(img.width) * size_t(img.height) * 3);
  if (!has_colour_view(img)) {
    std::fill(rgb->begin(), rgb->end(), 0);
    return;
  }
  for (int c = 0; c < 3; c++) map_channel(img, c, window, rgb->data() + c, 3);
}

}  // namespace celldrop

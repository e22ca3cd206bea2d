// Channel selection and percentile normalisation (see normalize.h for the conventions).
#include "core/normalize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace celldrop {
namespace {

// Position of a percentile among n sorted values, split as numpy does: index i and fraction f.
void percentile_rank(double percent, size_t n, size_t* i, double* f) {
  const double rank = (percent / 100.0) * double(n - 1);
  double whole = std::floor(rank);
  if (whole < 0.0) whole = 0.0;
  *i = std::min(size_t(whole), n - 1);
  *f = std::min(std::max(rank - whole, 0.0), 1.0);
}

// numpy's _lerp: the two forms keep the result exact at both ends (f = 0 gives a, f = 1 gives b).
double lerp(double a, double b, double f) {
  const double d = b - a;
  return f >= 0.5 ? b - d * (1.0 - f) : a + d * f;
}

// k-th smallest (0-based) value of a histogram whose counts add up to more than k.
size_t histogram_kth(const std::vector<uint64_t>& hist, uint64_t k) {
  uint64_t seen = 0;
  for (size_t v = 0; v < hist.size(); ++v) {
    seen += hist[v];
    if (seen > k) return v;
  }
  return hist.size() - 1;
}

template <class T>
void histogram_of_channel(const Image& img, int channel, std::vector<uint64_t>* hist) {
  const T* p = samples<T>(img);
  const size_t n = size_t(img.width) * size_t(img.height), C = size_t(img.channels);
  hist->assign(size_t(1) << (8 * sizeof(T)), 0);
  uint64_t* h = hist->data();
  for (size_t i = 0; i < n; ++i) ++h[p[i * C + size_t(channel)]];
}

// Percentile pair from a value list (destroyed: reordered in place).
template <class T>
void percentiles_by_selection(std::vector<T>& v, double lo_pct, double hi_pct, double* lo, double* hi) {
  const double pct[2] = {lo_pct, hi_pct};
  double* result[2] = {lo, hi};
  for (int j = 0; j < 2; ++j) {
    size_t i = 0;
    double f = 0.0;
    percentile_rank(pct[j], v.size(), &i, &f);
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(i), v.end());
    const double a = double(v[i]);
    // After nth_element everything right of i is >= v[i]: the next order statistic is their minimum.
    const double b = i + 1 < v.size() ? double(*std::min_element(v.begin() + std::ptrdiff_t(i) + 1, v.end())) : a;
    *result[j] = lerp(a, b, f);
  }
}

template <class T>
void normalize_channel(const T* in, size_t n, size_t C, int c, double lo, double scale, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const size_t k = i * C + size_t(c);
    const double v = double(in[k]);
    out[k] = std::isfinite(v) ? float((v - lo) * scale) : 0.0f;
  }
}

template <class T>
void merge_mean(const T* in, size_t n, size_t C, const std::vector<int>& chosen, float* out) {
  const double inv = 1.0 / double(chosen.size());
  for (size_t i = 0; i < n; ++i) {
    double sum = 0.0;  // double: a mean of many 32-bit channels must not lose the low bits
    for (int c : chosen) sum += double(in[i * C + size_t(c)]);
    out[i] = float(sum * inv);
  }
}

}  // namespace

bool select_channels(const Image& in, const ChannelSelection& selection, Image* out, std::string* error) {
  if (in.empty()) {
    *error = "cannot select channels of an empty image";
    return false;
  }
  if (selection.stain != Stain::None) {
    if (!selection.channels.empty() || selection.merge) {
      *error = std::string("give channels or a stain (") + stain_name(selection.stain) + "), not both";
      return false;
    }
    return stain_density(in, selection.stain, selection.stain_vectors, out, error);
  }
  std::vector<int> chosen = selection.channels;
  if (chosen.empty())
    for (int c = 0; c < in.channels; ++c) chosen.push_back(c);
  for (int c : chosen) {
    if (c < 0 || c >= in.channels) {
      *error = "channel " + std::to_string(c + 1) + " does not exist: the image has " +
               std::to_string(in.channels) + (in.channels == 1 ? " channel" : " channels");
      return false;
    }
  }
  const size_t n = size_t(in.width) * size_t(in.height), C = size_t(in.channels);
  Image result;
  if (selection.merge) {
    result = make_image(in.width, in.height, 1, SampleType::F32);
    switch (in.type) {
      case SampleType::U8: merge_mean(in.data.data(), n, C, chosen, samples<float>(result)); break;
      case SampleType::U16: merge_mean(samples<uint16_t>(in), n, C, chosen, samples<float>(result)); break;
      case SampleType::U32: merge_mean(samples<uint32_t>(in), n, C, chosen, samples<float>(result)); break;
      case SampleType::F32: merge_mean(samples<float>(in), n, C, chosen, samples<float>(result)); break;
    }
  } else {
    result = make_image(in.width, in.height, int(chosen.size()), in.type);
    const size_t bytes = sample_type_size(in.type), D = chosen.size();
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < D; ++j)
        memcpy(&result.data[(i * D + j) * bytes], &in.data[(i * C + size_t(chosen[j])) * bytes], bytes);
  }
  result.pixel_size_x_um = in.pixel_size_x_um;
  result.pixel_size_y_um = in.pixel_size_y_um;
  *out = std::move(result);
  return true;
}

bool channel_percentiles(const Image& img, int channel, double low_percent, double high_percent,
                         double* low_value, double* high_value) {
  const size_t n = size_t(img.width) * size_t(img.height), C = size_t(img.channels);
  if (img.empty() || channel < 0 || channel >= img.channels) return false;
  if (img.type == SampleType::U8 || img.type == SampleType::U16) {
    std::vector<uint64_t> hist;
    if (img.type == SampleType::U8) histogram_of_channel<uint8_t>(img, channel, &hist);
    else histogram_of_channel<uint16_t>(img, channel, &hist);
    const double pct[2] = {low_percent, high_percent};
    double* result[2] = {low_value, high_value};
    for (int j = 0; j < 2; ++j) {
      size_t i = 0;
      double f = 0.0;
      percentile_rank(pct[j], n, &i, &f);
      const double a = double(histogram_kth(hist, i));
      const double b = i + 1 < n ? double(histogram_kth(hist, i + 1)) : a;
      *result[j] = lerp(a, b, f);
    }
    return true;
  }
  if (img.type == SampleType::U32) {
    std::vector<uint32_t> v(n);
    const uint32_t* p = samples<uint32_t>(img);
    for (size_t i = 0; i < n; ++i) v[i] = p[i * C + size_t(channel)];
    percentiles_by_selection(v, low_percent, high_percent, low_value, high_value);
    return true;
  }
  std::vector<float> v;
  v.reserve(n);
  const float* p = samples<float>(img);
  for (size_t i = 0; i < n; ++i) {
    const float x = p[i * C + size_t(channel)];
    if (std::isfinite(x)) v.push_back(x);
  }
  if (v.empty()) return false;
  percentiles_by_selection(v, low_percent, high_percent, low_value, high_value);
  return true;
}

Background image_background(const Image& img) {
  if (img.empty()) return Background::Unknown;
  const int colours = (img.channels == 3 || img.channels == 4) ? 3 : img.channels;
  const size_t n = size_t(img.width) * size_t(img.height);
  const int step = std::max(1, int(std::ceil(std::sqrt(double(n) / double(1 << 20)))));
  std::vector<float> mean;
  mean.reserve(size_t(img.width / step + 1) * size_t(img.height / step + 1));
  for (int y = 0; y < img.height; y += step) {
    for (int x = 0; x < img.width; x += step) {
      double sum = 0.0;
      for (int c = 0; c < colours; ++c) sum += img.at(x, y, c);
      if (std::isfinite(sum)) mean.push_back(float(sum / colours));
    }
  }
  if (mean.empty()) return Background::Unknown;
  auto rank = [&](double percent) {
    const size_t k = std::min(mean.size() - 1, size_t(percent / 100.0 * double(mean.size() - 1) + 0.5));
    std::nth_element(mean.begin(), mean.begin() + ptrdiff_t(k), mean.end());
    return double(mean[k]);
  };
  const double p1 = rank(1.0), p50 = rank(50.0), p99 = rank(99.0);
  if (!(p99 > p1)) return Background::Unknown;
  return p50 - p1 > p99 - p50 ? Background::Bright : Background::Dark;
}

Background modality_background(const std::string& modality) {
  if (modality == "fluorescence") return Background::Dark;
  if (modality == "histology" || modality == "brightfield") return Background::Bright;
  return Background::Unknown;
}

bool normalize_percentiles(const Image& in, const PercentileRange& range, Image* out,
                           std::vector<ChannelLevels>* levels, std::string* error) {
  if (in.empty()) {
    *error = "cannot normalise an empty image";
    return false;
  }
  if (!(range.low >= 0.0 && range.high <= 100.0 && range.low < range.high)) {
    *error = "percentiles must satisfy 0 <= low < high <= 100 (got " + std::to_string(range.low) + " and " +
             std::to_string(range.high) + ")";
    return false;
  }
  Image result = make_image(in.width, in.height, in.channels, SampleType::F32);
  float* dst = samples<float>(result);
  const size_t n = size_t(in.width) * size_t(in.height), C = size_t(in.channels);
  if (levels) levels->assign(size_t(in.channels), ChannelLevels());
  for (int c = 0; c < in.channels; ++c) {
    double lo = 0.0, hi = 0.0;
    // A channel with no finite sample keeps lo = hi = 0: every output sample of it becomes 0.
    channel_percentiles(in, c, range.low, range.high, &lo, &hi);
    const double scale = hi > lo ? 1.0 / (hi - lo) : 1.0;
    switch (in.type) {
      case SampleType::U8: normalize_channel(in.data.data(), n, C, c, lo, scale, dst); break;
      case SampleType::U16: normalize_channel(samples<uint16_t>(in), n, C, c, lo, scale, dst); break;
      case SampleType::U32: normalize_channel(samples<uint32_t>(in), n, C, c, lo, scale, dst); break;
      case SampleType::F32: normalize_channel(samples<float>(in), n, C, c, lo, scale, dst); break;
    }
    if (levels) (*levels)[size_t(c)] = ChannelLevels{lo, hi};
  }
  result.pixel_size_x_um = in.pixel_size_x_um;
  result.pixel_size_y_um = in.pixel_size_y_um;
  *out = std::move(result);
  return true;
}

bool prepare_network_input(const Image& in, const ChannelSelection& selection,
                           const PercentileRange& range, Image* out, std::vector<ChannelLevels>* levels,
                           std::string* error) {
  Image chosen;
  if (!select_channels(in, selection, &chosen, error)) return false;
  return normalize_percentiles(chosen, range, out, levels, error);
}

}  // namespace celldrop

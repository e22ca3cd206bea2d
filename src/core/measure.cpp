#include "core/measure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/labels.h"

namespace celldrop {

bool measure_objects(const Labels& labels, const Image* image, std::vector<ObjectMeasurements>* out,
                     std::string* error) {
  out->clear();
  if (image && (image->width != labels.width || image->height != labels.height)) {
    *error = "measure: the image is " + std::to_string(image->width) + "x" +
             std::to_string(image->height) + " but the labels are " + std::to_string(labels.width) +
             "x" + std::to_string(labels.height) + "; measure labels made from this image";
    return false;
  }
  const ObjectIndex index = index_objects(labels);
  const int n = index.count(), w = labels.width, h = labels.height;
  const int channels = image ? image->channels : 0;

  struct Sums {
    long long count = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int x0 = std::numeric_limits<int>::max(), y0 = std::numeric_limits<int>::max(), x1 = -1, y1 = -1;
    double perimeter = 0.0;
  };
  std::vector<Sums> sums(static_cast<size_t>(n));
  std::vector<double> sum_i(size_t(n) * size_t(channels), 0.0);
  std::vector<double> min_i(size_t(n) * size_t(channels), std::numeric_limits<double>::infinity());
  std::vector<double> max_i(size_t(n) * size_t(channels), -std::numeric_limits<double>::infinity());

  // Contour length inside one 2x2 window for each pattern of which of its pixels belong to the
  // object (bit 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right): a corner cut is sqrt(2)/2,
  // a straight crossing 1, two diagonal corners sqrt(2).
  const double half_diag = std::sqrt(2.0) / 2.0;
  double window_length[16];
  for (int m = 0; m < 16; ++m) {
    const int bits = (m & 1) + ((m >> 1) & 1) + ((m >> 2) & 1) + ((m >> 3) & 1);
    window_length[m] = bits == 1 || bits == 3 ? half_diag
                       : bits == 2            ? (m == 9 || m == 6 ? 2 * half_diag : 1.0)
                                              : 0.0;
  }

  // One pass: the window anchored at (x, y) covers pixels (x-1..x, y-1..y), with pixels outside the
  // image as background, so x and y run one past the last column and row.
  const int32_t* idx = index.pixel_index.data();
  for (int y = 0; y <= h; ++y) {
    const int32_t* above = y > 0 ? idx + size_t(y - 1) * size_t(w) : nullptr;
    const int32_t* here = y < h ? idx + size_t(y) * size_t(w) : nullptr;
    for (int x = 0; x <= w; ++x) {
      const int32_t a = above && x > 0 ? above[x - 1] : -1, b = above && x < w ? above[x] : -1;
      const int32_t c = here && x > 0 ? here[x - 1] : -1, d = here && x < w ? here[x] : -1;
      if (!(a == b && b == c && c == d)) {
        const int32_t cells[4] = {a, b, c, d};
        for (int i = 0; i < 4; ++i) {
          const int32_t o = cells[i];
          bool seen = o < 0;
          for (int j = 0; j < i && !seen; ++j) seen = cells[j] == o;
          if (seen) continue;  // background, or this object's window already counted
          const int mask = (a == o) | (b == o) << 1 | (c == o) << 2 | (d == o) << 3;
          sums[size_t(o)].perimeter += window_length[mask];
        }
      }
      if (d < 0) continue;
      Sums& s = sums[size_t(d)];
      ++s.count;
      s.sx += x;
      s.sy += y;
      s.sxx += (long long)x * x;
      s.syy += (long long)y * y;
      s.sxy += (long long)x * y;
      s.x0 = std::min(s.x0, x);
      s.x1 = std::max(s.x1, x);
      s.y0 = std::min(s.y0, y);
      s.y1 = std::max(s.y1, y);
      for (int ch = 0; ch < channels; ++ch) {
        const double v = image->at(x, y, ch);
        const size_t k = size_t(d) * size_t(channels) + size_t(ch);
        sum_i[k] += v;
        min_i[k] = std::min(min_i[k], v);
        max_i[k] = std::max(max_i[k], v);
      }
    }
  }

  const double kulpa = 3.14159265358979323846 * (1.0 + std::sqrt(2.0)) / 8.0;  // see measure.h
  const double pixel_area = image ? image->pixel_size_x_um * image->pixel_size_y_um : 0.0;
  const double pi = 3.14159265358979323846;
  out->resize(size_t(n));
  for (int i = 0; i < n; ++i) {
    const Sums& s = sums[size_t(i)];
    ObjectMeasurements& m = (*out)[size_t(i)];
    const double count = double(s.count);
    m.id = index.ids[size_t(i)];
    m.area_px = s.count;
    m.area_um2 = pixel_area > 0 ? count * pixel_area : 0.0;
    m.centroid_x = double(s.sx) / count;
    m.centroid_y = double(s.sy) / count;
    m.bbox_x0 = s.x0;
    m.bbox_y0 = s.y0;
    m.bbox_x1 = s.x1 + 1;
    m.bbox_y1 = s.y1 + 1;
    m.perimeter_px = kulpa * s.perimeter;
    m.circularity = std::min(1.0, 4.0 * pi * count / (m.perimeter_px * m.perimeter_px));
    const double vxx = double(s.sxx) / count - m.centroid_x * m.centroid_x;
    const double vyy = double(s.syy) / count - m.centroid_y * m.centroid_y;
    const double vxy = double(s.sxy) / count - m.centroid_x * m.centroid_y;
    const double mid = 0.5 * (vxx + vyy), half_gap = std::sqrt(0.25 * (vxx - vyy) * (vxx - vyy) + vxy * vxy);
    const double l1 = mid + half_gap, l2 = std::max(mid - half_gap, 0.0);
    m.eccentricity = l1 > 1e-12 ? std::sqrt(std::max(0.0, 1.0 - l2 / l1)) : 0.0;
    for (int ch = 0; ch < channels; ++ch) {
      const size_t k = size_t(i) * size_t(channels) + size_t(ch);
      m.integrated.push_back(sum_i[k]);
      m.mean.push_back(sum_i[k] / count);
      m.min.push_back(min_i[k]);
      m.max.push_back(max_i[k]);
    }
  }
  return true;
}

bool measure_stains(const Labels& labels, const Image& rgb, const StainVectors& vectors,
                    std::vector<ObjectMeasurements>* objects, std::string* error) {
  if (rgb.width != labels.width || rgb.height != labels.height) {
    *error = "measure: the image is " + std::to_string(rgb.width) + "x" + std::to_string(rgb.height) +
             " but the labels are " + std::to_string(labels.width) + "x" + std::to_string(labels.height);
    return false;
  }
  StainUnmixing unmixing;
  if (!prepare_stain_unmixing(rgb, vectors, &unmixing, error)) return false;
  const ObjectIndex index = index_objects(labels);
  if (size_t(index.count()) != objects->size()) {
    *error = "measure: the objects were not measured from these labels";
    return false;
  }
  std::vector<double> sum_h(objects->size(), 0.0), sum_d(objects->size(), 0.0);
  std::vector<long long> count(objects->size(), 0);
  // A run of pixels at a time: densities of the whole slide would be two float images beside it.
  const size_t pixels = size_t(labels.width) * size_t(labels.height), run = 16384;
  std::vector<float> h(run), d(run);
  for (size_t first = 0; first < pixels; first += run) {
    const size_t n = std::min(run, pixels - first);
    unmix_pixels(unmixing, rgb, Stain::Hematoxylin, first, n, h.data());
    unmix_pixels(unmixing, rgb, Stain::Dab, first, n, d.data());
    for (size_t i = 0; i < n; ++i) {
      const int32_t o = index.pixel_index[first + i];
      if (o < 0) continue;
      sum_h[size_t(o)] += h[i];
      sum_d[size_t(o)] += d[i];
      ++count[size_t(o)];
    }
  }
  for (size_t i = 0; i < objects->size(); ++i) {
    ObjectMeasurements& m = (*objects)[i];
    m.hematoxylin_od = sum_h[i] / double(count[i]);
    m.dab_od = sum_d[i] / double(count[i]);
  }
  return true;
}

bool parse_marker(const std::string& text, PositiveRule* rule) {
  Stain stain = Stain::None;
  long channel = -1;
  if (!parse_stain(text, &stain)) {
    char* end = nullptr;
    channel = text.empty() ? -1 : std::strtol(text.c_str(), &end, 10);
    if (channel < 0 || channel > 4095 || *end) return false;
  }
  rule->channel = int(channel);
  rule->stain = stain;
  return true;
}

double marker_mean(const ObjectMeasurements& m, const PositiveRule& rule) {
  if (rule.stain == Stain::Hematoxylin) return m.hematoxylin_od;
  if (rule.stain == Stain::Dab) return m.dab_od;
  if (rule.channel >= 0 && size_t(rule.channel) < m.mean.size()) return m.mean[size_t(rule.channel)];
  return std::nan("");
}

double otsu_threshold_of_means(const std::vector<ObjectMeasurements>& objects, const PositiveRule& marker) {
  std::vector<double> v;
  v.reserve(objects.size());
  for (const ObjectMeasurements& m : objects) {
    const double x = marker_mean(m, marker);
    if (std::isnan(x)) return std::nan("");
    v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  // Between-group variance of the cut after k values, up to the constant 1/n^2:
  // k (n - k) (mean_high - mean_low)^2. Sums run in long double: means of 16-bit images squared.
  const size_t n = v.size();
  long double total = 0.0L;
  for (double x : v) total += x;
  long double low = 0.0L, best = -1.0L;
  double threshold = std::nan("");
  for (size_t k = 1; k < n; ++k) {
    low += v[k - 1];
    if (v[k] == v[k - 1]) continue;  // no cut between equal means
    const long double nl = k, nh = n - k, d = (total - low) / nh - low / nl;
    const long double between = nl * nh * d * d;
    if (between > best) {
      best = between;
      threshold = v[k - 1] + (v[k] - v[k - 1]) / 2.0;
    }
  }
  return threshold;
}

static std::string number_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

int classify_positive(std::vector<ObjectMeasurements>* objects, const PositiveRule& rule, std::string* error) {
  const bool graded = rule.counts() && rule.graded();
  if (graded && !(rule.threshold <= rule.grade_thresholds[0] && rule.grade_thresholds[0] <= rule.grade_thresholds[1])) {
    *error = "the grades' thresholds must rise from 1+ to 3+, not " + number_text(rule.threshold) + ", " +
             number_text(rule.grade_thresholds[0]) + ", " + number_text(rule.grade_thresholds[1]);
    for (ObjectMeasurements& o : *objects) o.positive = o.grade = -1;
    return -1;
  }
  int count = 0;
  for (ObjectMeasurements& m : *objects) {
    m.grade = -1;
    if (!rule.counts()) {
      m.positive = -1;
      continue;
    }
    const double mean = marker_mean(m, rule);
    if (std::isnan(mean)) {
      if (rule.stain != Stain::None) {
        *error = std::string("the objects have no ") + stain_label(rule.stain) +
                 " density: stains are measured when the run reads the slide through one (stain hematoxylin)";
      } else {
        *error = "the image has " + std::to_string(m.mean.size()) + " channel" + (m.mean.size() == 1 ? "" : "s") +
                 ", so there is no channel " + std::to_string(rule.channel) + " (from 0) to read a marker in";
      }
      for (ObjectMeasurements& o : *objects) o.positive = o.grade = -1;
      return -1;
    }
    m.positive = mean >= rule.threshold ? 1 : 0;
    if (graded) m.grade = m.positive + (mean >= rule.grade_thresholds[0]) + (mean >= rule.grade_thresholds[1]);
    count += m.positive;
  }
  return count;
}

GradeCounts count_grades(const std::vector<ObjectMeasurements>& objects) {
  GradeCounts c;
  long long graded = 0, sum = 0;
  for (const ObjectMeasurements& m : objects) {
    if (m.grade < 0 || m.grade > 3) continue;
    ++c.objects[m.grade];
    ++graded;
    sum += m.grade;
  }
  if (graded) c.h_score = 100.0 * double(sum) / double(graded);
  return c;
}

}  // namespace celldrop

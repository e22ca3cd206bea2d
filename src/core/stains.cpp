// Colour deconvolution (see stains.h for the model and the vectors).
#include "core/stains.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

namespace celldrop {
namespace {

constexpr double kPi = 3.14159265358979323846;

void to_unit(const double in[3], double out[3]) {
  const double len = std::sqrt(in[0] * in[0] + in[1] * in[1] + in[2] * in[2]);
  for (int k = 0; k < 3; ++k) out[k] = len > 0 ? in[k] / len : 0.0;
}

double degrees_between(const double a[3], const double b[3]) {
  double ua[3], ub[3];
  to_unit(a, ua);
  to_unit(b, ub);
  const double c = ua[0] * ub[0] + ua[1] * ub[1] + ua[2] * ub[2];
  return std::acos(std::clamp(c, -1.0, 1.0)) * 180.0 / kPi;
}

// w[k] = (M^-1)[k][s], the weights that turn a pixel's three ODs into the amount of stain s: the
// amounts are od . M^-1 for the matrix M whose rows are the stains' unit vectors.
void unmixing_weights(const StainVectors& vectors, Stain stain, double w[3]) {
  double m[3][3];
  to_unit(vectors.hematoxylin, m[0]);
  to_unit(vectors.dab, m[1]);
  const double third[3] = {m[0][1] * m[1][2] - m[0][2] * m[1][1], m[0][2] * m[1][0] - m[0][0] * m[1][2],
                           m[0][0] * m[1][1] - m[0][1] * m[1][0]};
  to_unit(third, m[2]);
  // Column s of the inverse: the cofactors of row s's entries, over the determinant.
  const int s = stain == Stain::Hematoxylin ? 0 : 1;
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  for (int k = 0; k < 3; ++k) {
    const int a = (s + 1) % 3, b = (s + 2) % 3, p = (k + 1) % 3, q = (k + 2) % 3;
    w[k] = (m[a][p] * m[b][q] - m[a][q] * m[b][p]) / det;  // inverse[k][s] = cofactor(s, k) / det
  }
}

// Optical density of every sample value: white (the type's largest value) is 0, a zero counts as 1.
template <class T>
std::vector<float> density_table() {
  const double white = double(T(~T(0)));
  std::vector<float> od(size_t(T(~T(0))) + 1);
  for (size_t v = 0; v < od.size(); ++v) od[v] = float(-std::log10(std::max(double(v), 1.0) / white));
  return od;
}

// Eigenvectors of a symmetric 3 x 3 matrix by Jacobi rotations: on return a is diagonal (the
// eigenvalues) and the columns of v are the eigenvectors. A 3 x 3 needs a handful of sweeps.
void symmetric_eigen(double a[3][3], double v[3][3]) {
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) v[r][c] = r == c ? 1.0 : 0.0;
  for (int sweep = 0; sweep < 32; ++sweep) {
    if (a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2] < 1e-30) break;
    for (int p = 0; p < 2; ++p) {
      for (int q = p + 1; q < 3; ++q) {
        if (a[p][q] == 0.0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < 3; ++k) {  // a <- a J
          const double kp = a[k][p], kq = a[k][q];
          a[k][p] = c * kp - s * kq;
          a[k][q] = s * kp + c * kq;
        }
        for (int k = 0; k < 3; ++k) {  // a <- J^T a
          const double pk = a[p][k], qk = a[q][k];
          a[p][k] = c * pk - s * qk;
          a[q][k] = s * pk + c * qk;
        }
        for (int k = 0; k < 3; ++k) {  // v <- v J
          const double kp = v[k][p], kq = v[k][q];
          v[k][p] = c * kp - s * kq;
          v[k][q] = s * kp + c * kq;
        }
      }
    }
  }
}

template <class T>
bool estimate(const Image& rgb, StainVectors* out, std::string* error) {
  const std::vector<float> od = density_table<T>();
  const T* pixels = reinterpret_cast<const T*>(rgb.data.data());
  const size_t n = size_t(rgb.width) * size_t(rgb.height), C = size_t(rgb.channels);
  const double stained = 0.15;  // total density (length of the OD vector) of a stained pixel
  auto density = [&](size_t i, double d[3]) {
    const T* p = pixels + i * C;
    d[0] = od[p[0]], d[1] = od[p[1]], d[2] = od[p[2]];
    return d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > stained * stained;
  };
  // The stained pixels' densities lie in the plane of the two stains' vectors, through the origin (no
  // stain, no density): the plane of their two main axes about the origin, not about their mean. About
  // the mean, two clusters of similar size (brown blobs, blue nuclei) would make the line between
  // them the main axis, a direction with no sign, and the angles below would wrap around.
  double products[3][3] = {};
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    double d[3];
    if (!density(i, d)) continue;
    ++count;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) products[r][c] += d[r] * d[c];
  }
  const size_t needed = 500;
  if (count < needed) {
    *error = "only " + std::to_string(count) + " pixels are stained (total optical density above 0.15), too few to " +
             "estimate the stains' colours (at least " + std::to_string(needed) + "); use the standard colours";
    return false;
  }
  double axes[3][3];
  symmetric_eigen(products, axes);
  int order[3] = {0, 1, 2};
  std::sort(order, order + 3, [&](int x, int y) { return products[x][x] > products[y][y]; });
  double e1[3], e2[3];
  for (int k = 0; k < 3; ++k) e1[k] = axes[k][order[0]], e2[k] = axes[k][order[1]];
  if (e1[0] + e1[1] + e1[2] < 0)  // densities are positive: so is the main axis, their mean direction
    for (double& x : e1) x = -x;
  // Each stained pixel's direction in the plane, as an angle; a histogram of them gives the
  // percentiles in two passes over the image and no copy of it.
  const int bins = 8192;
  std::vector<uint64_t> histogram(bins, 0);
  for (size_t i = 0; i < n; ++i) {
    double d[3];
    if (!density(i, d)) continue;
    const double angle = std::atan2(d[0] * e2[0] + d[1] * e2[1] + d[2] * e2[2], d[0] * e1[0] + d[1] * e1[1] + d[2] * e1[2]);
    histogram[std::min(bins - 1, int((angle + kPi) / (2 * kPi) * bins))]++;
  }
  auto percentile_angle = [&](double percent) {
    const double rank = percent / 100.0 * double(count);
    uint64_t seen = 0;
    int b = 0;
    for (; b < bins - 1; ++b) {
      seen += histogram[size_t(b)];
      if (double(seen) >= rank) break;
    }
    return (b + 0.5) / bins * 2 * kPi - kPi;
  };
  double ends[2][3];
  const double angles[2] = {percentile_angle(1.0), percentile_angle(99.0)};
  for (int e = 0; e < 2; ++e) {
    const double dir[3] = {std::cos(angles[e]) * e1[0] + std::sin(angles[e]) * e2[0],
                           std::cos(angles[e]) * e1[1] + std::sin(angles[e]) * e2[1],
                           std::cos(angles[e]) * e1[2] + std::sin(angles[e]) * e2[2]};
    to_unit(dir, ends[e]);
  }
  const StainVectors standard;
  const bool swap = degrees_between(ends[0], standard.hematoxylin) + degrees_between(ends[1], standard.dab) >
                    degrees_between(ends[1], standard.hematoxylin) + degrees_between(ends[0], standard.dab);
  StainVectors found;
  std::copy(ends[swap ? 1 : 0], ends[swap ? 1 : 0] + 3, found.hematoxylin);
  std::copy(ends[swap ? 0 : 1], ends[swap ? 0 : 1] + 3, found.dab);
  const double apart = degrees_between(found.hematoxylin, found.dab);
  if (apart < 10.0) {
    const long degrees = std::lround(apart);
    *error = "the slide's stained pixels are all of one colour (its two extremes are " + std::to_string(degrees) +
             (degrees == 1 ? " degree" : " degrees") + " apart, at least 10 are needed): the second stain's colour cannot be estimated from it; use the standard colours";
    return false;
  }
  for (Stain stain : {Stain::Hematoxylin, Stain::Dab}) {
    const double* v = stain == Stain::Hematoxylin ? found.hematoxylin : found.dab;
    const double off = degrees_between(v, stain == Stain::Hematoxylin ? standard.hematoxylin : standard.dab);
    if (off > 25.0) {
      *error = std::string("the slide's colour nearest ") + stain_label(stain) + " (" + stain_vector_text(v) + ") is " +
               std::to_string(int(std::lround(off))) + " degrees from it (at most 25): is it stained with something else, " +
               "such as eosin? Use the standard colours";
      return false;
    }
  }
  *out = found;
  return true;
}

template <class T>
void unmix(const std::vector<float>& od, const float w[3], const Image& rgb, size_t first, size_t count, float* out) {
  const size_t C = size_t(rgb.channels);
  const T* p = reinterpret_cast<const T*>(rgb.data.data()) + first * C;
  const float w0 = w[0], w1 = w[1], w2 = w[2];  // in registers: out could alias them, as far as the compiler knows
  for (size_t i = 0; i < count; ++i, p += C) out[i] = w0 * od[p[0]] + w1 * od[p[1]] + w2 * od[p[2]];
}

}  // namespace

const char* stain_name(Stain stain) {
  switch (stain) {
    case Stain::Hematoxylin: return "hematoxylin";
    case Stain::Dab: return "dab";
    case Stain::None: break;
  }
  return "";
}

const char* stain_label(Stain stain) { return stain == Stain::Dab ? "DAB" : stain_name(stain); }

bool parse_stain(const std::string& name, Stain* stain) {
  std::string lower;
  for (char c : name) lower += char(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "hematoxylin") *stain = Stain::Hematoxylin;
  else if (lower == "dab") *stain = Stain::Dab;
  else return false;
  return true;
}

bool can_unmix_stains(const Image& image) {
  return !image.empty() && (image.channels == 3 || image.channels == 4) &&
         (image.type == SampleType::U8 || image.type == SampleType::U16);
}

std::string stain_vector_text(const double v[3]) {
  double u[3];
  to_unit(v, u);
  char text[64];
  std::snprintf(text, sizeof text, "%.3f %.3f %.3f", u[0], u[1], u[2]);
  return text;
}

static std::string unmix_refusal(const Image& rgb, const char* what) {
  if (rgb.empty() || (rgb.channels != 3 && rgb.channels != 4))
    return std::string(what) + " needs an RGB picture of a stained slide; this image has " + std::to_string(rgb.channels) +
           (rgb.channels == 1 ? " channel" : " channels");
  return std::string(what) + " needs 8 or 16-bit samples, not " + sample_type_name(rgb.type);
}

bool estimate_stain_vectors(const Image& rgb, StainVectors* out, std::string* error) {
  if (!can_unmix_stains(rgb)) {
    *error = unmix_refusal(rgb, "estimating the stains' colours");
    return false;
  }
  return rgb.type == SampleType::U8 ? estimate<uint8_t>(rgb, out, error) : estimate<uint16_t>(rgb, out, error);
}

bool prepare_stain_unmixing(const Image& rgb, const StainVectors& vectors, StainUnmixing* out, std::string* error) {
  if (!can_unmix_stains(rgb)) {
    *error = unmix_refusal(rgb, "colour deconvolution");
    return false;
  }
  out->od = rgb.type == SampleType::U8 ? density_table<uint8_t>() : density_table<uint16_t>();
  for (Stain stain : {Stain::Hematoxylin, Stain::Dab}) {
    double w[3];
    unmixing_weights(vectors, stain, w);
    for (int k = 0; k < 3; ++k) out->weights[stain == Stain::Dab ? 1 : 0][k] = float(w[k]);
  }
  return true;
}

void unmix_pixels(const StainUnmixing& unmixing, const Image& rgb, Stain stain, size_t first, size_t count, float* out) {
  const float* w = unmixing.weights[stain == Stain::Dab ? 1 : 0];
  if (rgb.type == SampleType::U8) unmix<uint8_t>(unmixing.od, w, rgb, first, count, out);
  else unmix<uint16_t>(unmixing.od, w, rgb, first, count, out);
}

bool stain_density(const Image& rgb, Stain stain, const StainVectors& vectors, Image* out, std::string* error) {
  if (stain == Stain::None) {
    *error = "no stain was named (hematoxylin or dab)";
    return false;
  }
  if (!can_unmix_stains(rgb)) {  // refused here, to name the stain
    *error = unmix_refusal(rgb, (std::string("colour deconvolution (") + stain_name(stain) + ")").c_str());
    return false;
  }
  StainUnmixing unmixing;
  if (!prepare_stain_unmixing(rgb, vectors, &unmixing, error)) return false;
  Image result = make_image(rgb.width, rgb.height, 1, SampleType::F32);
  unmix_pixels(unmixing, rgb, stain, 0, size_t(rgb.width) * size_t(rgb.height), samples<float>(result));
  result.pixel_size_x_um = rgb.pixel_size_x_um;
  result.pixel_size_y_um = rgb.pixel_size_y_um;
  *out = std::move(result);
  return true;
}

}  // namespace celldrop

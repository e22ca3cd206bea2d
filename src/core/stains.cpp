// Colour deconvolution (see stains.h for the model and the vectors).
#include "core/stains.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

namespace celldrop {
namespace {

// w[k] = (M^-1)[k][s], the weights that turn a pixel's three ODs into the amount of stain s: the
// amounts are od . M^-1 for the matrix M whose rows are the stains' unit vectors.
void unmixing_weights(Stain stain, double w[3]) {
  double m[3][3] = {{0.650, 0.704, 0.286}, {0.268, 0.570, 0.776}, {0, 0, 0}};
  for (int r = 0; r < 2; ++r) {
    const double len = std::sqrt(m[r][0] * m[r][0] + m[r][1] * m[r][1] + m[r][2] * m[r][2]);
    for (double& x : m[r]) x /= len;
  }
  m[2][0] = m[0][1] * m[1][2] - m[0][2] * m[1][1];
  m[2][1] = m[0][2] * m[1][0] - m[0][0] * m[1][2];
  m[2][2] = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  const double len = std::sqrt(m[2][0] * m[2][0] + m[2][1] * m[2][1] + m[2][2] * m[2][2]);
  for (double& x : m[2]) x /= len;
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

template <class T>
void unmix(const Image& rgb, const double w[3], float* out) {
  const double white = double(T(~T(0)));
  std::vector<float> od(size_t(T(~T(0))) + 1);
  for (size_t v = 0; v < od.size(); ++v) od[v] = float(-std::log10(std::max(double(v), 1.0) / white));
  const T* p = reinterpret_cast<const T*>(rgb.data.data());
  const size_t n = size_t(rgb.width) * size_t(rgb.height), C = size_t(rgb.channels);
  const float w0 = float(w[0]), w1 = float(w[1]), w2 = float(w[2]);
  for (size_t i = 0; i < n; ++i, p += C) out[i] = w0 * od[p[0]] + w1 * od[p[1]] + w2 * od[p[2]];
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

bool stain_density(const Image& rgb, Stain stain, Image* out, std::string* error) {
  if (stain == Stain::None) {
    *error = "no stain was named (hematoxylin or dab)";
    return false;
  }
  if (!can_unmix_stains(rgb)) {
    if (rgb.empty() || (rgb.channels != 3 && rgb.channels != 4))
      *error = std::string("colour deconvolution (") + stain_name(stain) + ") needs an RGB picture of a stained slide; " +
               "this image has " + std::to_string(rgb.channels) + (rgb.channels == 1 ? " channel" : " channels");
    else
      *error = std::string("colour deconvolution needs 8 or 16-bit samples, not ") + sample_type_name(rgb.type);
    return false;
  }
  double w[3];
  unmixing_weights(stain, w);
  Image result = make_image(rgb.width, rgb.height, 1, SampleType::F32);
  if (rgb.type == SampleType::U8) unmix<uint8_t>(rgb, w, samples<float>(result));
  else unmix<uint16_t>(rgb, w, samples<float>(result));
  result.pixel_size_x_um = rgb.pixel_size_x_um;
  result.pixel_size_y_um = rgb.pixel_size_y_um;
  *out = std::move(result);
  return true;
}

}  // namespace celldrop

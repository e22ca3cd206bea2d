// Beer-Lambert's law written out apart from src/core/stains.cpp, for the tests that check colour
// deconvolution (stains_test) and what is measured with it (measure_test): the transmitted light of
// `h` units of hematoxylin and `d` of DAB, as 8 or 16-bit RGB, with Ruifrok & Johnston's published
// stain vectors, or another lab's (mix_stains_of).
#pragma once

#include <cmath>

template <class T>
void mix_stains_of(const double hv[3], const double dv[3], double h, double d, T rgb[3]) {
  const double hl = std::sqrt(hv[0] * hv[0] + hv[1] * hv[1] + hv[2] * hv[2]);
  const double dl = std::sqrt(dv[0] * dv[0] + dv[1] * dv[1] + dv[2] * dv[2]);
  const double white = double(T(~T(0)));
  for (int c = 0; c < 3; ++c) rgb[c] = T(std::lround(white * std::pow(10.0, -(h * hv[c] / hl + d * dv[c] / dl))));
}

template <class T>
void mix_stains(double h, double d, T rgb[3]) {
  const double hv[3] = {0.650, 0.704, 0.286}, dv[3] = {0.268, 0.570, 0.776};
  mix_stains_of(hv, dv, h, d, rgb);
}

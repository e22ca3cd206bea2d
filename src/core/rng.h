// Deterministic random numbers and the few transcendental functions they need.
//
// Why our own: std:: distributions are implementation-defined, so libstdc++ (GCC) and libc++
// (Emscripten) give different numbers for the same engine and seed. libm's exp/log/sin/cos may also
// differ in the last bit between glibc and musl. Everything here uses only + - * /, sqrt, floor, frexp
// and ldexp, which IEEE 754 defines exactly, so a seed gives bit-identical results on every platform
// (the build uses ISO C++ without -ffast-math, so no FMA contraction or reassociation).
//
//   Rng rng(seed, stream);           PCG32 (O'Neill's XSH-RR) seeded through splitmix64
//   rng.uniform()                    [0, 1) with 53 random bits
//   rng.normal()                     standard normal, Marsaglia's polar method
//   rng.poisson(lambda)              Knuth's product method below 10, Hörmann's PTRS above
//   hash_uniform(seed, ix, iy)       stateless lattice values for value noise
#pragma once

#include <cmath>
#include <cstdint>

namespace celldrop {

// --- portable transcendental functions (about 1e-15 relative error; enough for simulation) -------
namespace pmath {

constexpr double kPi = 3.14159265358979323846;
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split so k * kLn2Hi is exact
constexpr double kLn2Lo = 1.90821492927058770002e-10;

inline double exp(double x) {
  if (x != x) return x;
  if (x > 709.0) return INFINITY;
  if (x < -745.0) return 0.0;
  // x = k ln2 + r with |r| <= ln2 / 2, then e^x = 2^k e^r and e^r from its Taylor series.
  double k = std::floor(x * 1.44269504088896340736 + 0.5);
  double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  const double inv_fact[] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                             1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,      1.0 / 120.0,
                             1.0 / 24.0,        1.0 / 6.0,        0.5,              1.0,
                             1.0};
  for (double c : inv_fact) p = p * r + c;
  return std::ldexp(p, int(k));
}

inline double log(double x) {
  if (x != x || x < 0.0) return NAN;
  if (x == 0.0) return -INFINITY;
  if (x == INFINITY) return x;
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172.
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double p = 1.0 / 23.0;
  for (int n = 21; n >= 1; n -= 2) p = p * s2 + 1.0 / n;
  return 2.0 * s * p + (double(e) * kLn2Lo + double(e) * kLn2Hi);
}

// sin and cos of r with |r| <= pi/4, by their Taylor series.
inline double sin_reduced(double r) {
  double r2 = r * r;
  double p = -1.0 / 1307674368000.0;  // -1/15!
  const double c[] = {1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0, -1.0 / 5040.0,
                      1.0 / 120.0,        -1.0 / 6.0,        1.0};
  for (double v : c) p = p * r2 + v;
  return r * p;
}
inline double cos_reduced(double r) {
  double r2 = r * r;
  double p = 1.0 / 20922789888000.0;  // 1/16!
  const double c[] = {-1.0 / 87178291200.0, 1.0 / 479001600.0, -1.0 / 3628800.0, 1.0 / 40320.0,
                      -1.0 / 720.0,         1.0 / 24.0,        -0.5,              1.0};
  for (double v : c) p = p * r2 + v;
  return p;
}

// Both at once: x = k pi/2 + r, then the quadrant k picks signs and swaps. Meant for moderate |x|
// (angles, a few turns); the reduction loses accuracy far beyond that.
inline void sincos(double x, double* s, double* c) {
  constexpr double kHalfPiHi = 1.57079632673412561417;  // pi/2 in two parts, as for ln 2
  constexpr double kHalfPiLo = 6.07710050650619224932e-11;
  double k = std::floor(x * 0.63661977236758134308 + 0.5);
  double r = (x - k * kHalfPiHi) - k * kHalfPiLo;
  double sr = sin_reduced(r), cr = cos_reduced(r);
  switch (int(k - 4.0 * std::floor(k * 0.25))) {
    case 0: *s = sr; *c = cr; break;
    case 1: *s = cr; *c = -sr; break;
    case 2: *s = -sr; *c = -cr; break;
    default: *s = -cr; *c = sr; break;
  }
}

// log(n!) = lgamma(n + 1): exact sums for small n, Stirling's series (error < 1e-15) above.
inline double log_factorial(double n) {
  if (n < 16.0) {
    double sum = 0.0;
    for (double i = 2.0; i <= n; i += 1.0) sum += log(i);
    return sum;
  }
  double x = n + 1.0, ix = 1.0 / x, ix2 = ix * ix;
  return (x - 0.5) * log(x) - x + 0.91893853320467274178 +
         ix * (1.0 / 12.0 - ix2 * (1.0 / 360.0 - ix2 * (1.0 / 1260.0)));
}

}  // namespace pmath

// --- hashing -------------------------------------------------------------------------------------
// splitmix64's finaliser: a bijective mix, good enough to turn counters into independent bits.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A value in [0, 1) fixed by (seed, ix, iy): lattice values for value noise, no state to carry.
inline double hash_uniform(uint64_t seed, int64_t ix, int64_t iy) {
  uint64_t h = mix64(seed ^ mix64(uint64_t(ix) * 0x9e3779b97f4a7c15ULL + uint64_t(iy)));
  return double(h >> 11) * (1.0 / 9007199254740992.0);
}

// --- the generator -------------------------------------------------------------------------------
class Rng {
 public:
  // Different streams from one seed are independent sequences: the synthesiser draws layout, shapes
  // and noise from separate streams so that changing the noise level keeps the same nuclei.
  explicit Rng(uint64_t seed, uint64_t stream = 0) {
    uint64_t s = seed;
    inc_ = (mix64(stream * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL) << 1) | 1u;
    state_ = 0;
    next_u32();
    state_ += mix64(s += 0x9e3779b97f4a7c15ULL);
    next_u32();
  }

  uint32_t next_u32() {
    uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + inc_;
    uint32_t xorshifted = uint32_t(((old >> 18) ^ old) >> 27);
    uint32_t rot = uint32_t(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
  }

  uint64_t next_u64() {
    uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  double uniform() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // An integer in [0, n), n > 0 (Lemire's multiply-shift; the bias, below 2^-32 * n, is irrelevant).
  uint32_t below(uint32_t n) { return uint32_t((uint64_t(next_u32()) * n) >> 32); }

  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = std::sqrt(-2.0 * pmath::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }

  // Poisson counts. Knuth's method costs lambda uniforms, so above 10 we switch to PTRS
  // (W. Hörmann, "The transformed rejection method for generating Poisson random variables", 1993),
  // which accepts ~90% of first tries with a couple of uniforms.
  uint32_t poisson(double lambda) {
    if (!(lambda > 0.0)) return 0;
    if (lambda < 10.0) {
      double limit = pmath::exp(-lambda), p = uniform();
      uint32_t k = 0;
      while (p > limit) {
        ++k;
        p *= uniform();
      }
      return k;
    }
    if (lambda > 4.0e9) lambda = 4.0e9;  // keeps k inside uint32_t
    double slam = std::sqrt(lambda), loglam = 0.0;  // log only when the squeeze fails (~12%)
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
      double u = uniform() - 0.5, v = uniform();
      double us = 0.5 - std::fabs(u);
      double k = std::floor((2.0 * a / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return uint32_t(k);
      if (k < 0.0 || (us < 0.013 && v > us)) continue;
      if (loglam == 0.0) loglam = pmath::log(lambda);
      if (pmath::log(v) + pmath::log(inv_alpha) - pmath::log(a / (us * us) + b) <=
          -lambda + k * loglam - pmath::log_factorial(k))
        return uint32_t(k);
    }
  }

 private:
  uint64_t state_ = 0;
  uint64_t inc_ = 1;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace celldrop

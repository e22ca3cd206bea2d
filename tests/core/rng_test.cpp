// The generator behind every synthetic image: its distributions must have the right moments, and its
// portable math must agree with libm closely (it replaces libm only for bit-identical results).
#include "core/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace celldrop {
namespace {

TEST(Pmath, AgreesWithLibm) {
  for (double x = -700.0; x <= 700.0; x += 0.37)
    EXPECT_NEAR(pmath::exp(x) / std::exp(x), 1.0, 1e-14) << "exp(" << x << ")";
  for (double x = 1e-300; x < 1e300; x *= 1.7)
    EXPECT_NEAR(pmath::log(x), std::log(x), 1e-14 * std::max(1.0, std::fabs(std::log(x)))) << "log(" << x << ")";
  for (double x = -20.0; x <= 20.0; x += 0.013) {
    double s, c;
    pmath::sincos(x, &s, &c);
    EXPECT_NEAR(s, std::sin(x), 1e-14) << "sin(" << x << ")";
    EXPECT_NEAR(c, std::cos(x), 1e-14) << "cos(" << x << ")";
  }
  for (double n : {0.0, 1.0, 5.0, 15.0, 16.0, 17.0, 100.0, 12345.0})
    EXPECT_NEAR(pmath::log_factorial(n), std::lgamma(n + 1.0), 1e-12 * std::max(1.0, std::lgamma(n + 1.0)));
  EXPECT_EQ(pmath::exp(-1000.0), 0.0);
  EXPECT_TRUE(std::isinf(pmath::exp(1000.0)));
  EXPECT_TRUE(std::isinf(pmath::log(0.0)));
  EXPECT_TRUE(std::isnan(pmath::log(-1.0)));
}

TEST(Rng, SameSeedSameStreamSameSequence) {
  Rng a(42, 3), b(42, 3), c(43, 3), d(42, 4);
  int differ_seed = 0, differ_stream = 0;
  for (int i = 0; i < 1000; ++i) {
    uint32_t va = a.next_u32();
    EXPECT_EQ(va, b.next_u32());
    differ_seed += va != c.next_u32();
    differ_stream += va != d.next_u32();
  }
  EXPECT_GT(differ_seed, 990);
  EXPECT_GT(differ_stream, 990);
}

struct Moments {
  double mean = 0, var = 0;
};
template <class F> Moments moments(int n, F draw) {
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    double v = draw();
    sum += v;
    sum2 += v * v;
  }
  Moments m;
  m.mean = sum / n;
  m.var = sum2 / n - m.mean * m.mean;
  return m;
}

TEST(Rng, UniformAndNormalMoments) {
  Rng rng(7);
  const int n = 200000;
  Moments u = moments(n, [&] {
    double v = rng.uniform();
    EXPECT_TRUE(v >= 0.0 && v < 1.0);
    return v;
  });
  EXPECT_NEAR(u.mean, 0.5, 0.005);
  EXPECT_NEAR(u.var, 1.0 / 12.0, 0.002);
  Moments g = moments(n, [&] { return rng.normal(); });
  EXPECT_NEAR(g.mean, 0.0, 0.01);
  EXPECT_NEAR(g.var, 1.0, 0.02);
  // Tails: P(|z| > 2) = 4.55%.
  int tails = 0;
  for (int i = 0; i < n; ++i) tails += std::fabs(rng.normal()) > 2.0;
  EXPECT_NEAR(double(tails) / n, 0.0455, 0.003);
  std::vector<int> hist(10, 0);
  for (int i = 0; i < n; ++i) ++hist[rng.below(10)];
  for (int h : hist) EXPECT_NEAR(h, n / 10, n / 100);
}

// Both Poisson methods (Knuth below lambda = 10, PTRS above) must give mean = variance = lambda and
// the right probability of zero / of the mode.
TEST(Rng, PoissonMomentsOnBothSidesOfTheSwitch) {
  Rng rng(11);
  for (double lambda : {0.3, 2.0, 9.5, 10.5, 30.0, 250.0, 5000.0}) {
    const int n = 100000;
    Moments m = moments(n, [&] { return double(rng.poisson(lambda)); });
    double se = std::sqrt(lambda / n);
    EXPECT_NEAR(m.mean, lambda, 5 * se) << "lambda " << lambda;
    EXPECT_NEAR(m.var / lambda, 1.0, 0.03) << "lambda " << lambda;
  }
  // P(X = 10) for lambda = 12: e^-12 12^10 / 10! = 0.10484.
  int hits = 0;
  for (int i = 0; i < 200000; ++i) hits += rng.poisson(12.0) == 10;
  EXPECT_NEAR(hits / 200000.0, 0.10484, 0.003);
  EXPECT_EQ(rng.poisson(0.0), 0u);
  EXPECT_EQ(rng.poisson(-3.0), 0u);
}

TEST(HashUniform, StatelessAndSpread) {
  EXPECT_EQ(hash_uniform(5, 10, -3), hash_uniform(5, 10, -3));
  EXPECT_NE(hash_uniform(5, 10, -3), hash_uniform(5, -3, 10));
  EXPECT_NE(hash_uniform(5, 10, -3), hash_uniform(6, 10, -3));
  double sum = 0;
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 100; ++x) sum += hash_uniform(1, x, y);
  EXPECT_NEAR(sum / 10000, 0.5, 0.01);
}

}  // namespace
}  // namespace celldrop

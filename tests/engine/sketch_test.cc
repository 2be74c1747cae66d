#include "engine/sketch.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tierscore::engine {
namespace {

TEST(QuantileSketchTest, RelativeErrorWithinOnePercent) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(6, 2);
  std::vector<double> xs;
  QuantileSketch sketch;
  for (int i = 0; i < 100000; ++i) {
    double x = dist(rng);
    if (i % 10 == 0) x = 0;
    if (i % 13 == 0) x = -x;
    xs.push_back(x);
    sketch.Add(x);
  }
  std::sort(xs.begin(), xs.end());
  for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0}) {
    const double exact = xs[static_cast<size_t>(std::floor(q * (xs.size() - 1)))];
    const double got = sketch.Quantile(q);
    EXPECT_LE(std::fabs(got - exact), 0.01 * std::fabs(exact) + 1e-9) << "q=" << q;
  }
}

TEST(QuantileSketchTest, MergeEqualsOnePassAndSurvivesProto) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> dist(0.01);
  QuantileSketch all, a, b;
  for (int i = 0; i < 5000; ++i) {
    const double x = dist(rng);
    all.Add(x);
    (i % 3 ? a : b).Add(x);
  }
  v1::SketchState state;
  b.ToProto(&state);
  a.Merge(QuantileSketch::FromProto(state));
  for (double q : {0.1, 0.5, 0.9}) EXPECT_EQ(a.Quantile(q), all.Quantile(q));
  EXPECT_EQ(a.count(), all.count());
}

TEST(QuantileSketchTest, CdfIsMonotoneAndBounded) {
  QuantileSketch s;
  for (double x : {-5.0, -1.0, 0.0, 0.0, 1.0, 2.0, 4.0, 8.0}) s.Add(x);
  CdfTable cdf(s);
  double last = -1;
  for (double x = -10; x <= 10; x += 0.25) {
    const double c = cdf.At(x);
    EXPECT_GE(c, last);
    EXPECT_GE(c, 0);
    EXPECT_LE(c, 1);
    last = c;
  }
  EXPECT_EQ(cdf.At(-100), 0);
  EXPECT_EQ(cdf.At(100), 1);
  EXPECT_EQ(cdf.At(0), 4.0 / 8);
  EXPECT_EQ(s.Cdf(1.0), 5.0 / 8);
  EXPECT_TRUE(std::isnan(QuantileSketch().Quantile(0.5)));
}

}  // namespace
}  // namespace tierscore::engine

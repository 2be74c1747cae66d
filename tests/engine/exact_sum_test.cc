#include "engine/exact_sum.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tierscore::engine {
namespace {

TEST(ExactSumTest, CancelsExactlyWhereDoublesCannot) {
  ExactSum s;
  s.Add(1e100);
  s.Add(1.0);
  s.Add(-1e100);
  EXPECT_EQ(s.Value(), 1.0);  // naive double summation gives 0
}

TEST(ExactSumTest, SumIsIndependentOfOrderAndSplitting) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> value(5, 3);
  std::vector<double> xs;
  for (int i = 0; i < 20000; ++i) {
    double x = value(rng);
    if (i % 7 == 0) x = -x;
    if (i % 11 == 0) x *= 1e-12;
    xs.push_back(x);
  }
  ExactSum forward;
  for (double x : xs) forward.Add(x);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(xs.begin(), xs.end(), rng);
    // Split into uneven parts, sum each, merge in reverse order.
    std::vector<ExactSum> parts(1 + trial * 3);
    for (size_t i = 0; i < xs.size(); ++i) parts[(i * i) % parts.size()].Add(xs[i]);
    ExactSum merged;
    // NOLINTNEXTLINE(modernize-loop-convert): its std::views::reverse fix does not build (clang-14)
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) merged.Merge(*it);
    EXPECT_EQ(merged.Value(), forward.Value()) << "trial " << trial;
  }
  long double approx = 0;
  for (double x : xs) approx += x;
  EXPECT_NEAR(forward.Value(), static_cast<double>(approx), std::fabs(forward.Value()) * 1e-12);
}

TEST(ExactSumTest, NegativeSubnormalAndProtoRoundTrip) {
  ExactSum s;
  s.Add(-3.5);
  s.Add(std::ldexp(1.0, -1074));  // smallest subnormal
  s.Add(-std::ldexp(1.0, -1074));
  s.Add(0.25);
  EXPECT_EQ(s.Value(), -3.25);
  v1::ExactSumState state;
  s.ToProto(&state);
  EXPECT_EQ(ExactSum::FromProto(state).Value(), -3.25);
  EXPECT_TRUE(ExactSum().IsZero());
  EXPECT_FALSE(s.IsZero());
}

TEST(ExactSumTest, NonFiniteInputsPropagate) {
  ExactSum s;
  s.Add(1);
  s.Add(HUGE_VAL);
  EXPECT_EQ(s.Value(), HUGE_VAL);
  v1::ExactSumState state;
  s.ToProto(&state);
  EXPECT_EQ(ExactSum::FromProto(state).Value(), HUGE_VAL);
  s.Add(-HUGE_VAL);
  EXPECT_TRUE(std::isnan(s.Value()));
}

TEST(ExactSumTest, ManyAddsNormaliseWithoutOverflow) {
  ExactSum s;
  for (int i = 0; i < 3000000; ++i) s.Add(1.5e300);
  EXPECT_DOUBLE_EQ(s.Value(), 4.5e306);
}

}  // namespace
}  // namespace tierscore::engine

#include "engine/kpi.h"

#include <cmath>
#include <random>

#include "engine/csv.h"
#include "engine/job.h"
#include "gtest/gtest.h"
#include "tests/testing/yaml.h"

namespace tierscore::engine {
namespace {

constexpr char kPolicy[] = R"yaml(
id_column: id
value: v
criteria: [{name: s, expr: v, weight: 1, normalize: none, direction: higher}]
tiers: [{name: t, thresholds: {min_scores: [10], names: [hi, lo]}}]
)yaml";

// Rows: id, v (value and score), g (group), n (nps), a/b (ratio).
constexpr char kCsv[] =
    "id,v,g,n,a,b\n"
    "r1,20,x,10,1,2\n"
    "r2,12,x,9,1,1\n"
    "r3,4,y,6,,1\n"
    "r4,1,y,,3,0\n"
    "r5,0,,7,0,2\n";

class KpiTest : public ::testing::Test {
 protected:
  v1::KpiTable Run(const std::string& kpis_yaml) {
    auto job = CompileJob(testing::PolicyFromYaml(kPolicy), testing::KpisFromYaml(kpis_yaml));
    EXPECT_TRUE(job.ok()) << job.status();
    auto table = ParseCsvText(kCsv, "k.csv", "id", (*job)->columns);
    EXPECT_TRUE(table.ok()) << table.status();
    // Tiers by the threshold: v >= 10 is "hi" (0).
    std::vector<std::vector<uint8_t>> tiers(1);
    for (double v : table->columns[0].numbers) tiers[0].push_back(v >= 10 ? 0 : 1);
    GroupedState state((*job)->kpis.sets.size());
    EXPECT_TRUE(AggregateShard((*job)->kpis, (*job)->policy, *table, tiers, &state).ok());
    return FinalizeKpis((*job)->kpis, (*job)->policy, std::move(state));
  }
};

TEST_F(KpiTest, MetricFormulasByHand) {
  v1::KpiTable t = Run(R"(
grouping_sets: [[g], []]
metrics:
  - {name: n, agg: count}
  - {name: sum, agg: sum, expr: v}
  - {name: share, agg: share, expr: v}
  - {name: mean, agg: mean, expr: v}
  - {name: min, agg: min, expr: v}
  - {name: max, agg: max, expr: v}
  - {name: sd, agg: stddev, expr: v}
  - {name: nps, agg: nps, expr: n}
  - {name: ratio, agg: ratio, num: a, den: b}
  - {name: big, agg: count_if, filter: v > 3}
  - {name: p50, agg: quantile, q: 0.5, expr: v}
)");
  // Groups in order: "" (null g), x, y, then the total.
  ASSERT_EQ(t.rows_size(), 4);
  EXPECT_EQ(t.dim_columns(0), "g");
  const auto& x = t.rows(1);
  EXPECT_EQ(x.dims(0), "x");
  EXPECT_EQ(x.values(0), 2);
  EXPECT_EQ(x.values(1), 32);
  EXPECT_DOUBLE_EQ(x.values(2), 32.0 / 37);
  EXPECT_EQ(x.values(3), 16);
  EXPECT_EQ(x.values(4), 12);
  EXPECT_EQ(x.values(5), 20);
  EXPECT_DOUBLE_EQ(x.values(6), std::sqrt(32.0));  // (4^2 + 4^2) / 1
  EXPECT_EQ(x.values(7), 100);                     // two promoters
  EXPECT_EQ(x.values(8), 2.0 / 3);
  EXPECT_EQ(x.values(9), 2);
  const auto& y = t.rows(2);
  EXPECT_EQ(y.values(7), -100);          // one detractor, r4 did not answer
  EXPECT_TRUE(std::isnan(y.values(8)));  // r3 has no a; r4 is 3 / 0: undefined
  const auto& total = t.rows(3);
  EXPECT_EQ(total.dims(0), "");
  EXPECT_EQ(total.values(0), 5);
  EXPECT_EQ(total.values(2), 1);
  EXPECT_NEAR(total.values(10), 4, 4 * 0.01);
  const auto& null_group = t.rows(0);
  EXPECT_EQ(null_group.values(0), 1);
  EXPECT_TRUE(std::isnan(null_group.values(6)));  // stddev of one value
}

TEST_F(KpiTest, RollUpsEqualDirectAggregation) {
  // [t] is rolled up from [t, g]; [g] alone is a leaf.
  v1::KpiTable rolled =
      Run("grouping_sets: [[t, g], [t], [g]]\nmetrics: [{name: s, agg: sum, expr: v}]\n");
  v1::KpiTable direct = Run("grouping_sets: [[t]]\nmetrics: [{name: s, agg: sum, expr: v}]\n");
  std::map<std::string, double> by_tier;
  for (const auto& row : rolled.rows()) {
    if (row.grouping_set() == 1) by_tier[row.dims(0)] = row.values(0);
  }
  ASSERT_EQ(by_tier.size(), 2u);
  for (const auto& row : direct.rows()) EXPECT_EQ(by_tier[row.dims(0)], row.values(0));
  EXPECT_EQ(by_tier["hi"], 32);
}

TEST(MetricAccTest, MergeInAnyOrderEqualsOnePass) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> dist(100, 40);
  for (v1::Aggregation agg :
       {v1::AGGREGATION_SUM, v1::AGGREGATION_STDDEV, v1::AGGREGATION_NPS, v1::AGGREGATION_QUANTILE,
        v1::AGGREGATION_MIN, v1::AGGREGATION_RATIO}) {
    MetricAcc one;
    std::vector<MetricAcc> parts(7);
    for (int i = 0; i < 5000; ++i) {
      const double v = agg == v1::AGGREGATION_NPS ? static_cast<double>(rng() % 11) : dist(rng);
      const double d = dist(rng);
      one.AddRow(agg, v, d);
      parts[rng() % parts.size()].AddRow(agg, v, d);
    }
    MetricAcc merged;
    for (size_t i = parts.size(); i-- > 0;) {
      v1::MetricState state;
      parts[i].ToProto(&state);
      merged.Merge(MetricAcc::FromProto(state));
    }
    CompiledMetric m;
    m.agg = agg;
    m.q = 0.9;
    EXPECT_EQ(MetricValue(m, merged, merged), MetricValue(m, one, one))
        << v1::Aggregation_Name(agg);
  }
}

}  // namespace
}  // namespace tierscore::engine

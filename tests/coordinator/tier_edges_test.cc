// Tier scheme edge cases, each checked against hand-computed tiers and run
// both through the reference and the phased job on three workers.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::engine {
namespace {

using testing::ClusterRun;

// Scores are the column s itself; value is v.
constexpr char kPolicy[] = R"yaml(
id_column: id
value: v
criteria: [{name: s, expr: s, normalize: none, weight: 1, direction: higher}]
tiers:
  - name: ladder
    pareto: {boundaries: [0.5, 0.7, 0.8, 0.9, 0.95, 0.98],
             names: [Diamond, Platinum, Gold, Silver, Bronze, Standard, Basic]}
  - name: abc
    abc: {}
  - name: top
    quantile: {boundaries: [0.1, 0.5], names: [Top10, Top50, Rest]}
  - name: status
    thresholds: {min_scores: [10, 5], names: [Elite, Member, Guest]}
)yaml";

constexpr char kKpis[] = R"yaml(
grouping_sets: [[ladder], [abc, top], []]
metrics:
  - {name: customers, agg: count}
  - {name: value, agg: sum, expr: v}
  - {name: share, agg: share, expr: v}
)yaml";

class TieringTest : public ::testing::Test {
 protected:
  // Runs on `csv` (header id,s,v) and returns tiers by id for every scheme,
  // after checking the phased job against the reference.
  std::map<std::string, std::vector<std::string>> Run(const std::string& csv) {
    v1::JobSpec spec;
    spec.add_inputs(dir_.Write("in.csv", csv));
    *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
    *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
    spec.set_split_bytes(16);  // many tiny splits over three workers
    coordinator::JobRunnerOptions options;
    options.cut_search.fetch_limit = 2;  // force histogram and id rounds
    options.cut_search.score_bins = 4;
    options.cut_search.sample = 2;
    auto run = testing::RunCluster(spec, 3, options);
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return {};
    testing::ExpectSameAsReference(spec, *run);
    result_ = run->outcome.result;
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& [id, row] : run->rows) out[id] = row.tiers;
    return out;
  }

  testing::TempDir dir_;
  v1::JobResult result_;
};

using T = std::vector<std::string>;

TEST_F(TieringTest, BoundariesUseCumulativeValueBeforeEachCustomer) {
  // Order: a(10) b(8) c(6) d(4) e(2) f(1) g(0.5); values 40,20,10,10,10,5,5.
  auto tiers = Run("id,s,v\na,10,40\nb,8,20\nc,6,10\nd,4,10\ne,2,10\nf,1,5\ng,0.5,5\n");
  // cum_before shares: a 0, b .4, c .6, d .7, e .8, f .9, g .95
  EXPECT_EQ(tiers["a"][0], "Diamond");
  EXPECT_EQ(tiers["b"][0], "Diamond");
  EXPECT_EQ(tiers["c"][0], "Platinum");
  EXPECT_EQ(tiers["d"][0], "Gold");
  EXPECT_EQ(tiers["e"][0], "Silver");
  EXPECT_EQ(tiers["f"][0], "Bronze");
  EXPECT_EQ(tiers["g"][0], "Standard");
  EXPECT_EQ(tiers["e"][1], "B");  // .8 is not below .8
  EXPECT_EQ(tiers["g"][1], "C");
  // Quantile by position: 7 customers, top 10% = position < 0.7 -> a only.
  EXPECT_EQ(tiers["a"][2], "Top10");
  EXPECT_EQ(tiers["d"][2], "Top50");  // position 3 < 3.5
  EXPECT_EQ(tiers["e"][2], "Rest");
  // Thresholds on the score itself.
  EXPECT_EQ(tiers["a"][3], "Elite");
  EXPECT_EQ(tiers["c"][3], "Member");
  EXPECT_EQ(tiers["d"][3], "Guest");
}

TEST_F(TieringTest, TiesAreBrokenByIdAscending) {
  // Five tied scores, equal values: 20% each. Order by id: a b c d e.
  auto tiers = Run("id,s,v\ne,1,1\nc,1,1\na,1,1\nd,1,1\nb,1,1\n");
  // cum_before: a 0, b .2, c .4, d .6, e .8
  EXPECT_EQ(tiers["a"][0], "Diamond");
  EXPECT_EQ(tiers["c"][0], "Diamond");
  EXPECT_EQ(tiers["d"][0], "Platinum");
  EXPECT_EQ(tiers["e"][0], "Silver");
  EXPECT_EQ(tiers["d"][1], "A");
  EXPECT_EQ(tiers["e"][1], "B");
}

TEST_F(TieringTest, OneCustomerAboveTheFirstBoundarySkipsTiers) {
  auto tiers = Run("id,s,v\nwhale,9,96\nx,5,2\ny,4,1\nz,3,1\n");
  EXPECT_EQ(tiers["whale"][0], "Diamond");
  EXPECT_EQ(tiers["x"][0], "Standard");                // cum_before .96
  EXPECT_EQ(tiers["y"][0], "Basic");                   // .98
  EXPECT_EQ(result_.tiers(0).rows(1).customers(), 0);  // Platinum is empty
}

TEST_F(TieringTest, ZeroNullAndNegativeValuesStillGetATier) {
  auto tiers = Run("id,s,v\na,5,10\nb,4,0\nc,3,\nd,2,-7\ne,1,10\n");
  // Values count as 10, 0, 0, 0, 10: b, c, d and e all have cum_before .5.
  EXPECT_EQ(tiers["a"][0], "Diamond");
  EXPECT_EQ(tiers["b"][0], "Platinum");
  EXPECT_EQ(tiers["d"][0], "Platinum");
  EXPECT_EQ(tiers["e"][0], "Platinum");
  EXPECT_EQ(result_.total_value(), 20);
}

TEST_F(TieringTest, ZeroTotalValuePutsEveryoneInTheLastValueTier) {
  auto tiers = Run("id,s,v\na,3,0\nb,2,0\nc,1,0\n");
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_EQ(tiers[id][0], "Basic");
    EXPECT_EQ(tiers[id][1], "C");
  }
  EXPECT_EQ(tiers["a"][2], "Top10");  // count-based tiers are unaffected
}

TEST_F(TieringTest, AllEqualScoresOrderById) {
  std::string csv = "id,s,v\n";
  for (int i = 0; i < 20; ++i) csv += "c" + std::to_string(100 + i) + ",7,1\n";
  auto tiers = Run(csv);
  EXPECT_EQ(tiers["c100"][2], "Top10");
  EXPECT_EQ(tiers["c101"][2], "Top10");
  EXPECT_EQ(tiers["c102"][2], "Top50");
  EXPECT_EQ(tiers["c110"][2], "Rest");
}

TEST_F(TieringTest, EmptyInputHasNoCustomersAndAZeroTotal) {
  auto tiers = Run("id,s,v\n");
  EXPECT_TRUE(tiers.empty());
  EXPECT_EQ(result_.customers(), 0);
  // The grand total row is there, with a count of zero.
  const auto& rows = result_.kpis().rows();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.rbegin()->values(0), 0);
}

}  // namespace
}  // namespace tierscore::engine

// The phased job on several in-process workers equals the single-process
// reference on random bases: realistic, tie-heavy and zero-heavy, of several
// sizes, cut into many splits.
#include <string>
#include <tuple>

#include "engine/generator.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::coordinator {
namespace {

// Every normalisation, both directions, a text criterion, every tier scheme.
constexpr char kPolicy[] = R"yaml(
name: everything
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: max, weight: 0.4, direction: higher}
  - {name: margin, expr: margin_12m, normalize: minmax, weight: 0.2, direction: higher}
  - {name: growth, expr: "(revenue_12m - revenue_prev_12m) / max(revenue_prev_12m, 1)",
     normalize: percentile, weight: 0.15, direction: higher}
  - {name: tickets, expr: support_tickets, normalize: zscore, weight: 0.1, direction: lower}
  - {name: recency, expr: 1 - days_since_last_order / 730, normalize: none, weight: 0.1, direction: higher}
  - {name: position, expr: "if(procurement_status == 'strategic', 1, 0)", weight: 0.05,
     normalize: none, direction: higher}
tiers:
  - name: ladder
    pareto: {boundaries: [0.50, 0.70, 0.80, 0.90, 0.95, 0.98],
             names: [Diamond, Platinum, Gold, Silver, Bronze, Standard, Basic]}
  - {name: abc, abc: {}}
  - name: decile
    quantile: {boundaries: [0.01, 0.1, 0.5], names: [Top1, Top10, Top50, Rest]}
  - name: status
    thresholds: {min_scores: [0.6, 0.45], names: [Gold, Silver, Blue]}
)yaml";

constexpr char kKpis[] = R"yaml(
grouping_sets: [[ladder, segment], [ladder], [abc, region], [decile], []]
metrics:
  - {name: customers, agg: count}
  - {name: revenue, agg: sum, expr: revenue_12m}
  - {name: revenue_share, agg: share, expr: revenue_12m}
  - {name: avg_orders, agg: mean, expr: orders_12m}
  - {name: min_margin, agg: min, expr: margin_12m}
  - {name: max_margin, agg: max, expr: margin_12m}
  - {name: sd_tenure, agg: stddev, expr: tenure_months}
  - {name: nps, agg: nps, expr: nps_score}
  - {name: resolution_rate, agg: ratio, num: tickets_resolved, den: support_tickets}
  - {name: p90_revenue, agg: quantile, q: 0.9, expr: revenue_12m}
  - {name: lapsed, agg: count_if, filter: days_since_last_order > 365}
  - {name: strategic_revenue, agg: sum, expr: revenue_12m, filter: "procurement_status == 'strategic'"}
)yaml";

struct Case {
  const char* profile;
  int64_t rows;
  uint64_t seed;
  int workers;
  int64_t split_bytes;
};

// Keeps test names and failure messages readable.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.profile << " base of " << c.rows << " rows, seed " << c.seed << ", " << c.workers
      << " workers, " << c.split_bytes << "-byte splits";
}

class JobPropertyTest : public ::testing::TestWithParam<Case> {};

TEST_P(JobPropertyTest, DistributedEqualsReference) {
  const Case c = GetParam();
  testing::TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = c.rows;
  gen.seed = c.seed;
  if (std::string(c.profile) == "ties") gen.distinct_values = 5;
  if (std::string(c.profile) == "zeros") gen.extra_zero_share = 0.7;
  const std::string path = dir.path() + "/customers.csv";
  ASSERT_TRUE(engine::GenerateCustomers(gen, path).ok());

  v1::JobSpec spec;
  spec.add_inputs(path);
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(c.split_bytes);
  JobRunnerOptions options;
  options.cut_search.fetch_limit = 64;  // small, so histograms and id splits run
  options.cut_search.score_bins = 16;
  options.cut_search.sample = 8;
  auto run = testing::RunCluster(spec, c.workers, options);
  ASSERT_TRUE(run.ok()) << run.status();
  testing::ExpectSameAsReference(spec, *run);
  EXPECT_EQ(run->outcome.result.customers(), c.rows);
}

INSTANTIATE_TEST_SUITE_P(
    Bases, JobPropertyTest,
    ::testing::Values(Case{"realistic", 0, 1, 2, 4096}, Case{"realistic", 1, 2, 2, 4096},
                      Case{"realistic", 17, 3, 3, 200}, Case{"realistic", 3000, 4, 3, 8192},
                      Case{"realistic", 20000, 5, 4, 65536}, Case{"ties", 5000, 6, 3, 4096},
                      Case{"ties", 20000, 7, 2, 100000}, Case{"zeros", 5000, 8, 4, 4096},
                      Case{"zeros", 20000, 9, 1, 30000}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.profile) + "_" + std::to_string(info.param.rows) + "_rows_" +
             std::to_string(info.param.workers) + "_workers";
    });

TEST(JobPropertyTest, SeveralInputFilesIncludingGzip) {
  testing::TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 4000;
  gen.seed = 11;
  const std::string csv = engine::GenerateCustomersCsv(gen);
  // Two files with disjoint customers: the second is the first half renamed.
  std::string second = csv;
  for (size_t p = second.find("\nC"); p != std::string::npos; p = second.find("\nC", p + 1)) {
    second[p + 1] = 'D';
  }
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("a.csv", csv));
  spec.add_inputs(dir.Write("b.csv.gz", second));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(50000);
  auto run = testing::RunCluster(spec, 3);
  ASSERT_TRUE(run.ok()) << run.status();
  testing::ExpectSameAsReference(spec, *run);
  EXPECT_EQ(run->outcome.result.customers(), 8000);
}

TEST(JobPropertyTest, ResultsDoNotDependOnTheNumberOfWorkersOrSplits) {
  testing::TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 10000;
  gen.seed = 12;
  const std::string path = dir.Write("c.csv", engine::GenerateCustomersCsv(gen));
  v1::JobResult first;
  for (auto [workers, split] : {std::pair{1, 1 << 26}, {4, 3000}, {2, 77777}}) {
    v1::JobSpec spec;
    spec.add_inputs(path);
    *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
    *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
    spec.set_split_bytes(split);
    auto run = testing::RunCluster(spec, workers);
    ASSERT_TRUE(run.ok()) << run.status();
    if (first.customers() == 0) first = run->outcome.result;
    EXPECT_EQ(testing::ResultDiff(run->outcome.result, first), "")
        << workers << " workers, split " << split;
  }
}

TEST(JobPropertyTest, BadInputsFailWithTheirPlace) {
  testing::TempDir dir;
  v1::JobSpec spec;
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  auto none = testing::RunCluster(spec, 1);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);

  spec.add_inputs(dir.Write("x.csv", "customer_id,revenue_12m\nA,1\n"));
  auto missing = testing::RunCluster(spec, 1);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("column \"margin_12m\" is not in the header"),
            std::string::npos)
      << missing.status();

  engine::GeneratorOptions gen;
  gen.rows = 50;
  std::string csv = engine::GenerateCustomersCsv(gen);
  csv.replace(csv.rfind(",transactional"), 14, ",transactional,extra");
  spec.set_inputs(0, dir.Write("y.csv", csv));
  auto extra = testing::RunCluster(spec, 2);
  EXPECT_EQ(extra.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(extra.status().message().find("y.csv:"), std::string::npos) << extra.status();
}

}  // namespace
}  // namespace tierscore::coordinator

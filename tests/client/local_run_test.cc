#include "client/local_run.h"

#include <cmath>
#include <string>

#include "absl/strings/str_split.h"
#include "client/output.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::client {
namespace {

using ::testing::HasSubstr;
using tierscore::testing::TempDir;

std::string Example(const std::string& rel) {
  return std::string(TIERSCORE_SOURCE_DIR) + "/examples/" + rel;
}

TEST(LocalRunTest, ExampleFilesProduceResultsAndKpisMatchingTheReference) {
  TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 20000;
  gen.seed = 3;
  const std::string input = dir.path() + "/customers.csv";
  ASSERT_TRUE(engine::GenerateCustomers(gen, input).ok());
  LocalRunOptions o;
  o.inputs = {input};
  o.policy_path = Example("policies/value_ladder.yaml");
  o.kpis_path = Example("kpis/by_tier_segment.yaml");
  o.results_path = dir.path() + "/results.csv";
  o.kpis_out_path = dir.path() + "/kpis.csv";
  o.split_bytes = 100000;
  o.explain = true;
  int progress_calls = 0;
  o.progress = [&](const coordinator::JobProgress&) { ++progress_calls; };
  auto result = RunLocal(o);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(progress_calls, 10);

  const std::string results = TempDir::Read(o.results_path);
  std::vector<std::string> lines = absl::StrSplit(results, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 20001u);
  EXPECT_EQ(lines[0],
            "customer_id,score,ladder,abc,value,contribution_revenue,contribution_margin,"
            "contribution_recency");
  EXPECT_THAT(lines[1], ::testing::StartsWith("C0000001,"));

  const std::string kpis = TempDir::Read(o.kpis_out_path);
  EXPECT_THAT(kpis, ::testing::StartsWith(
                        "ladder,segment,customers,revenue,revenue_share,margin,avg_orders,nps,"
                        "resolution_rate,avg_tenure,p90_revenue\n"));
  // 7 tiers x 4 segments at most, 7 tier rows and the total.
  std::vector<std::string> krows = absl::StrSplit(kpis, '\n', absl::SkipEmpty());
  EXPECT_GE(krows.size(), 1u + 7 + 1 + 20);
  EXPECT_THAT(krows.back(), ::testing::StartsWith(",,20000,"));

  // Same numbers as the reference.
  auto spec = LoadJobSpec(o.inputs, o.policy_path, o.kpis_path);
  ASSERT_TRUE(spec.ok());
  auto job = engine::CompileJob(spec->policy(), spec->kpis());
  auto ref = engine::RunReference(**job, o.inputs);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(testing::ResultDiff(*result, ref->result), "");
}

TEST(OutputTest, NumbersReadBackExactlyAndCountsInFull) {
  EXPECT_EQ(Number(100000), "100000");
  EXPECT_EQ(Number(1200000), "1200000");
  EXPECT_EQ(Number(0.1), "0.1");
  EXPECT_EQ(Number(1e20), "1e+20");
  EXPECT_EQ(Number(std::nan("")), "");
  v1::KpiTable table;
  table.add_metric_columns("customers");
  table.add_rows()->add_values(100000);
  EXPECT_EQ(KpiTableCsv(table), "customers\n100000\n");
}

TEST(LocalRunTest, FailedRunLeavesNoOutputFiles) {
  TempDir dir;
  const std::string input = dir.Write("bad.csv",
                                      "customer_id,revenue_12m,margin_12m,days_since_last_order\n"
                                      "A,1,1,1\nB,oops,1,1\n");
  LocalRunOptions o;
  o.inputs = {input};
  o.policy_path = Example("policies/value_ladder.yaml");
  o.results_path = dir.path() + "/results.csv";
  o.kpis_out_path = dir.path() + "/kpis.csv";
  auto result = RunLocal(o);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr("bad.csv:3:3: column \"revenue_12m\": expected a number, got \"oops\""));
  EXPECT_FALSE(std::filesystem::exists(o.results_path));
  EXPECT_FALSE(std::filesystem::exists(o.results_path + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(o.kpis_out_path));
}

TEST(LocalRunTest, DefaultKpisCountCustomersPerTier) {
  TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 500;
  LocalRunOptions o;
  o.inputs = {dir.path() + "/c.csv"};
  ASSERT_TRUE(engine::GenerateCustomers(gen, o.inputs[0]).ok());
  o.policy_path = Example("policies/value_ladder.yaml");
  auto result = RunLocal(o);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->kpis().metric_columns(0), "customers");
  EXPECT_EQ(result->kpis().dim_columns_size(), 2);
}

}  // namespace
}  // namespace tierscore::client

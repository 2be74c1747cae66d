#include "engine/policy.h"

#include "absl/strings/str_cat.h"
#include "common/config_loader.h"
#include "engine/job.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierscore::engine {
namespace {

using ::testing::HasSubstr;

v1::Policy Yaml(const std::string& text) {
  v1::Policy p;
  absl::Status st = common::ParseYamlToProto(text, "p.yaml", &p);
  EXPECT_TRUE(st.ok()) << st;
  return p;
}

constexpr char kBase[] = R"(
name: t
id_column: id
value: v
criteria: [{name: a, expr: v, normalize: max, weight: 1, direction: higher}]
)";

absl::Status CompileError(const std::string& extra) {
  return CompilePolicy(Yaml(std::string(kBase) + extra)).status();
}

// Workers keep a tier in one byte: more tiers than that would wrap around
// silently, so they are refused.
TEST(PolicyTest, AtMost256TiersPerScheme) {
  auto ladder = [](int tiers) {
    std::string b, n = "t0";
    for (int i = 1; i < tiers; ++i) {
      absl::StrAppend(&b, i > 1 ? ", " : "", static_cast<double>(i) / tiers);
      absl::StrAppend(&n, ", t", i);
    }
    return absl::StrCat("tiers: [{name: q, quantile: {boundaries: [", b, "], names: [", n,
                        "]}}]\n");
  };
  EXPECT_TRUE(CompilePolicy(Yaml(std::string(kBase) + ladder(256))).ok());
  EXPECT_THAT(CompileError(ladder(301)).message(),
              HasSubstr("tiers[0] (q).quantile.names: at most 256 tiers, got 301"));
}

TEST(PolicyTest, DefaultsForAbc) {
  auto p = CompilePolicy(Yaml(std::string(kBase) + "tiers: [{name: abc, abc: {}}]\n"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->schemes[0].boundaries, (std::vector<double>{0.80, 0.95}));
  EXPECT_EQ(p->schemes[0].names, (std::vector<std::string>{"A", "B", "C"}));
}

TEST(PolicyTest, ValidationNamesTheField) {
  EXPECT_THAT(
      CompileError("tiers: [{name: l, pareto: {boundaries: [0.5, 0.4], names: [a, b, c]}}]\n")
          .message(),
      HasSubstr("tiers[0] (l).pareto.boundaries[1]: boundaries must be strictly increasing"));
  EXPECT_THAT(
      CompileError("tiers: [{name: l, pareto: {boundaries: [0.5], names: [a]}}]\n").message(),
      HasSubstr("tiers[0] (l).pareto.names: expected 2 names"));
  EXPECT_THAT(
      CompileError("tiers: [{name: l, quantile: {boundaries: [1.5], names: [a, b]}}]\n").message(),
      HasSubstr("quantile.boundaries[0]: must be a share in (0, 1)"));
  EXPECT_THAT(
      CompileError("tiers: [{name: l, thresholds: {min_scores: [1, 2], names: [a, b, c]}}]\n")
          .message(),
      HasSubstr("min_scores must be finite and strictly decreasing"));
  EXPECT_THAT(CompileError("tiers: [{name: l}]\n").message(),
              HasSubstr("one of pareto, abc, quantile or thresholds is required"));
  EXPECT_THAT(CompileError("").message(), HasSubstr("tiers: at least one tier scheme"));
  EXPECT_THAT(CompileError("tiers: [{name: value, abc: {}}]\n").message(),
              HasSubstr("tiers[0].name: \"value\" is a column of the results already"));
  EXPECT_THAT(CompileError("tiers: [{name: contribution_a, abc: {}}]\n").message(),
              HasSubstr("is a column of the results already"));
  auto bad_expr = CompilePolicy(Yaml(R"yaml(
id_column: id
value: v
criteria: [{name: a, expr: "lg(v)", weight: 1}]
tiers: [{name: abc, abc: {}}]
)yaml"));
  EXPECT_THAT(bad_expr.status().message(),
              HasSubstr("criteria[0] (a).expr: at column 1: unknown function 'lg'"));
}

TEST(PolicyTest, PresetIsAStartingPointThePolicyOverrides) {
  auto p = CompilePolicy(Yaml(R"(
preset: market_share
criteria:
  - {name: growth, expr: revenue_12m, normalize: none, weight: 0.1, direction: higher}
  - {name: loyalty, expr: tenure_months, normalize: max, weight: 0.2, direction: higher}
)"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->id_column, "customer_id");
  ASSERT_EQ(p->criteria.size(), 4u);
  EXPECT_EQ(p->criteria[1].name, "growth");
  EXPECT_EQ(p->criteria[1].weight, 0.1);      // replaced
  EXPECT_EQ(p->criteria[3].name, "loyalty");  // appended
  EXPECT_EQ(p->schemes[0].name, "abc");
  for (const std::string& name : PresetNames()) {
    v1::Policy preset;
    preset.set_preset(name);
    EXPECT_TRUE(CompilePolicy(preset).ok()) << name;
  }
  v1::Policy unknown;
  unknown.set_preset("world_domination");
  EXPECT_THAT(CompilePolicy(unknown).status().message(), HasSubstr("preset: unknown preset"));
}

TEST(PolicyTest, JobCompilationDerivesColumnTypesAndCatchesConflicts) {
  v1::KpiSpec kpis;
  kpis.add_grouping_sets()->add_columns("abc");
  kpis.mutable_grouping_sets(0)->add_columns("segment");
  auto* m = kpis.add_metrics();
  m->set_name("n");
  m->set_agg(v1::AGGREGATION_COUNT_IF);
  m->set_filter("segment == 'smb'");
  auto job = CompileJob(Yaml(std::string(kBase) + "tiers: [{name: abc, abc: {}}]\n"), kpis);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ((*job)->columns.size(), 2u);
  EXPECT_EQ((*job)->columns[0].name, "v");
  EXPECT_EQ((*job)->columns[1].type, ColumnType::kText);

  m->set_filter("segment > 1");
  auto conflict = CompileJob(Yaml(std::string(kBase) + "tiers: [{name: abc, abc: {}}]\n"), kpis);
  EXPECT_THAT(conflict.status().message(),
              HasSubstr("column \"segment\" is used as a number in kpis.metrics[0] (n) but as "
                        "text in kpis.grouping_sets"));
  m->set_filter("");
  auto missing = CompileJob(Yaml(std::string(kBase) + "tiers: [{name: abc, abc: {}}]\n"), kpis);
  EXPECT_THAT(missing.status().message(), HasSubstr("filter: is required for count_if"));
}

}  // namespace
}  // namespace tierscore::engine

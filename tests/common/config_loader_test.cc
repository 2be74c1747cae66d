#include "common/config_loader.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tierscore/v1/kpi.pb.h"
#include "tierscore/v1/policy.pb.h"

namespace tierscore::common {
namespace {

using ::testing::HasSubstr;

std::string Source(const std::string& rel) { return std::string(TIERSCORE_SOURCE_DIR) + "/" + rel; }

TEST(ConfigLoaderTest, ExamplePolicyLoadsAsWritten) {
  v1::Policy p;
  ASSERT_TRUE(LoadYamlFile(Source("examples/policies/value_ladder.yaml"), &p).ok());
  EXPECT_EQ(p.name(), "value_ladder");
  EXPECT_EQ(p.id_column(), "customer_id");
  EXPECT_EQ(p.value(), "revenue_12m");
  ASSERT_EQ(p.criteria_size(), 3);
  EXPECT_EQ(p.criteria(0).normalize(), v1::NORMALIZATION_MAX);
  EXPECT_EQ(p.criteria(1).normalize(), v1::NORMALIZATION_MINMAX);
  EXPECT_EQ(p.criteria(2).normalize(), v1::NORMALIZATION_NONE);
  EXPECT_DOUBLE_EQ(p.criteria(1).weight(), 0.3);
  ASSERT_EQ(p.tiers_size(), 2);
  EXPECT_EQ(p.tiers(0).pareto().boundaries_size(), 6);
  EXPECT_EQ(p.tiers(0).pareto().names(6), "Basic");
  EXPECT_TRUE(p.tiers(1).has_abc());
  EXPECT_DOUBLE_EQ(p.tiers(1).abc().boundaries(1), 0.95);
}

TEST(ConfigLoaderTest, ExampleKpisLoadGroupingSetsWrittenAsLists) {
  v1::KpiSpec k;
  ASSERT_TRUE(LoadYamlFile(Source("examples/kpis/by_tier_segment.yaml"), &k).ok());
  ASSERT_EQ(k.grouping_sets_size(), 3);
  EXPECT_EQ(k.grouping_sets(0).columns_size(), 2);
  EXPECT_EQ(k.grouping_sets(0).columns(1), "segment");
  EXPECT_EQ(k.grouping_sets(2).columns_size(), 0);
  ASSERT_EQ(k.metrics_size(), 9);
  EXPECT_EQ(k.metrics(6).agg(), v1::AGGREGATION_RATIO);
  EXPECT_EQ(k.metrics(6).den(), "support_tickets");
  EXPECT_DOUBLE_EQ(k.metrics(8).q(), 0.9);
}

TEST(ConfigLoaderTest, JsonMapsTheSameWay) {
  v1::Policy p;
  ASSERT_TRUE(ParseYamlToProto(
                  R"({"name": "j", "criteria": [{"name": "r", "normalize": "zscore",
                      "direction": "lower", "weight": 2}]})",
                  "p.json", &p)
                  .ok());
  EXPECT_EQ(p.criteria(0).normalize(), v1::NORMALIZATION_ZSCORE);
  EXPECT_EQ(p.criteria(0).direction(), v1::DIRECTION_LOWER);
}

TEST(ConfigLoaderTest, ProtobufJsonReadsBack) {
  // What protobuf's JSON writer makes of a policy (full enum names) is a
  // policy file too.
  v1::Policy p;
  ASSERT_TRUE(ParseYamlToProto(R"({"criteria": [{"name": "r", "normalize": "NORMALIZATION_MAX",
                                   "direction": "DIRECTION_LOWER", "weight": 1}]})",
                               "p.json", &p)
                  .ok());
  EXPECT_EQ(p.criteria(0).normalize(), v1::NORMALIZATION_MAX);
  EXPECT_EQ(p.criteria(0).direction(), v1::DIRECTION_LOWER);
  p.Clear();
  EXPECT_FALSE(ParseYamlToProto(R"({"criteria": [{"normalize": "NORMALIZATION_UNSPECIFIED"}]})",
                                "p.json", &p)
                   .ok());
}

TEST(ConfigLoaderTest, ErrorsNameFileLineColumnAndField) {
  v1::Policy p;
  auto check = [&](const std::string& text, const std::string& want) {
    p.Clear();
    absl::Status st = ParseYamlToProto(text, "p.yaml", &p);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(st.message(), HasSubstr(want)) << text;
  };
  check("name: x\ncriteria:\n  - name: a\n    normalize: maxx\n",
        "p.yaml:4:16: criteria[0].normalize: unknown value \"maxx\" (expected one of: "
        "none, max, minmax, zscore, percentile)");
  check("name: x\ncriteria:\n  - weight: heavy\n",
        "p.yaml:3:13: criteria[0].weight: expected a number, got \"heavy\"");
  check("nmae: x\n", "p.yaml:1:1: nmae: unknown field");
  check("criteria: 3\n", "p.yaml:1:11: criteria: expected a list");
  check("tiers:\n  - name: t\n    pareto: {boundaries: [0.5, [1]]}\n",
        "tiers[0].pareto.boundaries[1]: expected a number, got a list");
  check("name: [unclosed\n", "p.yaml:");
  // Nothing is silently merged, replaced or truncated.
  check("name: a\nname: b\n", "p.yaml:2:1: name: duplicate key");
  check("tiers:\n  - {name: t, abc: {}, pareto: {boundaries: [0.5]}}\n",
        "p.yaml:2:24: tiers[0].pareto: only one of pareto, abc, quantile, thresholds may be given");
  check("tiers: [{name: t, protection: {max_drop_per_run: 4294967297}}]\n",
        "tiers[0].protection.max_drop_per_run: integer out of range: 4294967297");
}

TEST(ConfigLoaderTest, MissingFileIsNotFoundAndADirectoryIsNamed) {
  v1::Policy p;
  EXPECT_EQ(LoadYamlFile("/nonexistent/p.yaml", &p).code(), absl::StatusCode::kNotFound);
  absl::Status dir = LoadYamlFile("/tmp", &p);
  EXPECT_EQ(dir.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir.message(), "/tmp: is a directory, not a file");
}

}  // namespace
}  // namespace tierscore::common

// Repeated customer ids through the job phases on in-process workers: found
// inside one split, across splits and across files and workers, without an
// extra pass over the data (engine/duplicates.h); the job fails naming them,
// or with `duplicate_ids: keep_first` equals the reference and a run on the
// inputs with the repeats removed by hand.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/duplicate_data.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: minmax, weight: 0.6, direction: higher}
  - {name: recency, expr: days_since_last_order, normalize: percentile, weight: 0.4, direction: lower}
tiers:
  - name: abc
    pareto: {boundaries: [0.8, 0.95], names: [A, B, C]}
  - name: top
    quantile: {boundaries: [0.01, 0.1], names: [Top1, Top10, Rest]}
)yaml";

constexpr char kKpis[] = R"yaml(
grouping_sets: [[abc, region], []]
metrics:
  - {name: customers, agg: count}
  - {name: revenue, agg: sum, expr: revenue_12m}
)yaml";

v1::JobSpec Spec(const std::vector<std::string>& inputs, bool keep_first) {
  v1::JobSpec spec;
  for (const std::string& in : inputs) spec.add_inputs(in);
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  if (keep_first) spec.mutable_policy()->set_duplicate_ids(v1::DUPLICATE_IDS_KEEP_FIRST);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(150000);  // a.csv in about 9 splits
  return spec;
}

class DuplicateIdsTest : public ::testing::TestWithParam<int> {};

TEST_P(DuplicateIdsTest, FailNamesTheRepeatsWithTheirFilesAndRows) {
  testing::TempDir dir;
  const testing::DuplicateInputs data = testing::WriteDuplicateInputs(dir);
  auto run = testing::RunCluster(Spec(data.inputs, false), GetParam());
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument) << run.status();
  const std::string a = data.inputs[0], b = data.inputs[1];
  EXPECT_THAT(std::string(run.status().message()),
              HasSubstr(absl::StrCat(
                  "4 ids appear more than once (5 extra rows), e.g. \"C0000006\" "
                  "at ",
                  a, " row 6, ", a, " row 11001; \"C0000051\" at ", a, " row 51, ", a,
                  " row 7001, ", b, " row 1; \"C0000101\" at ", a, " row 101, ", a, " row 102")))
      << run.status();
  // The reference agrees.
  auto job = engine::CompileJob(Spec(data.inputs, false).policy(), {});
  ASSERT_TRUE(job.ok());
  auto ref = engine::RunReference(**job, data.inputs);
  EXPECT_THAT(ref.status().message(), HasSubstr("4 ids appear more than once (5 extra rows)"));
}

TEST_P(DuplicateIdsTest, KeepFirstEqualsTheReferenceAndTheInputsWithoutRepeats) {
  testing::TempDir dir;
  const testing::DuplicateInputs data = testing::WriteDuplicateInputs(dir);
  const v1::JobSpec spec = Spec(data.inputs, true);
  auto run = testing::RunCluster(spec, GetParam());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_GE(run->outcome.splits.size(), 8u);
  EXPECT_EQ(run->outcome.result.stats().duplicates_dropped(), data.extra_rows);
  EXPECT_EQ(run->outcome.result.customers(), data.distinct_ids);
  EXPECT_EQ(static_cast<int64_t>(run->rows.size()), data.distinct_ids);
  testing::ExpectSameAsReference(spec, *run);

  // Keeping the first rows is the same as never having had the later ones.
  auto clean = testing::RunCluster(Spec(data.first_only, false), GetParam());
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_EQ(testing::ResultDiff(run->outcome.result, clean->outcome.result), "");
  ASSERT_EQ(run->rows.size(), clean->rows.size());
  for (const auto& [id, row] : clean->rows) {
    auto it = run->rows.find(id);
    ASSERT_NE(it, run->rows.end()) << id;
    EXPECT_EQ(it->second.score, row.score) << id;
    EXPECT_EQ(it->second.tiers, row.tiers) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, DuplicateIdsTest, ::testing::Values(1, 3),
                         [](const auto& info) { return absl::StrCat(info.param, "_workers"); });

}  // namespace
}  // namespace tierscore::coordinator

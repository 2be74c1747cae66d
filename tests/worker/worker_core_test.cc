#include "worker/worker_core.h"

#include <string>

#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::worker {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria: [{name: r, expr: "log1p(revenue_12m)", normalize: max, weight: 1}]
tiers: [{name: abc, abc: {}}]
)yaml";

// A worker with one generated base loaded (two splits) and scored.
class WorkerCoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<WorkerCore> Loaded() {
    auto core = WorkerCore::Create({.threads = 2});
    v1::LoadRequest load;
    load.set_job_id("j");
    *load.mutable_spec()->mutable_policy() = testing::PolicyFromYaml(kPolicy);
    const int64_t size = static_cast<int64_t>(testing::TempDir::Read(path_).size());
    const int64_t header = static_cast<int64_t>(csv_.find('\n') + 1);
    const int64_t middle = static_cast<int64_t>(csv_.find('\n', static_cast<size_t>(size / 2)) + 1);
    for (auto [b, e] : {std::pair{header, middle}, {middle, size}}) {
      v1::Split* s = load.add_splits();
      s->set_index(load.splits_size() - 1);
      s->set_path(path_);
      s->set_begin(b);
      s->set_end(e);
    }
    auto loaded = core->Load(load);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    v1::ScoreRequest score;
    score.set_job_id("j");
    score.add_splits(0);
    score.add_splits(1);
    v1::CriterionParams* p = score.add_criteria();
    p->set_divisor(1);
    auto scored = core->Score(score);
    EXPECT_TRUE(scored.ok()) << scored.status();
    return core;
  }

  v1::ProbeRequest Request(std::vector<std::pair<double, double>> ranges) {
    v1::ProbeRequest req;
    req.set_job_id("j");
    req.add_splits(0);
    req.add_splits(1);
    for (auto [lo, hi] : ranges) {
      v1::Probe* p = req.add_probes();
      p->mutable_range()->set_score_lo(lo);
      p->mutable_range()->set_score_hi(hi);
      p->set_score_bins(8);
    }
    return req;
  }

  void SetUp() override {
    engine::GeneratorOptions gen;
    gen.rows = 4000;
    gen.distinct_values = 50;  // ties
    csv_ = engine::GenerateCustomersCsv(gen);
    path_ = dir_.Write("c.csv", csv_);
  }

  testing::TempDir dir_;
  std::string csv_;
  std::string path_;
};

TEST_F(WorkerCoreTest, NarrowingProbesAnswerLikeAFreshWorker) {
  auto cached = Loaded();
  // Scores are log1p(100 k) for k = 1..50, from 4.6 to 8.52, and 0. First
  // everything; then [8.3, 8.6], a fifth of the rows, kept; then ranges
  // inside it (answered from the kept rows); then one outside (must not
  // be); then narrow again, and a mix.
  const std::vector<std::vector<std::pair<double, double>>> sequence = {
      {{0, 20}},   {{8.3, 8.6}},   {{8.4, 8.5}},  {{8.45, 8.47}},
      {{0, 7}},    {{8.4, 8.5}},   {{8.4, 8.5}, {0, 20}}};
  for (const auto& ranges : sequence) {
    auto fresh = Loaded();
    auto want = fresh->Probe(Request(ranges));
    auto got = cached->Probe(Request(ranges));
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(got->SerializeAsString(), want->SerializeAsString()) << ranges[0].first;
  }
}

TEST_F(WorkerCoreTest, PhasesCheckTheirPreconditions) {
  auto core = WorkerCore::Create({.threads = 1});
  v1::ScoreRequest score;
  score.set_job_id("nope");
  EXPECT_EQ(core->Score(score).status().code(), absl::StatusCode::kNotFound);

  auto loaded = Loaded();
  v1::ProbeRequest probe = Request({{0, 1}});
  probe.add_splits(7);  // never loaded here
  EXPECT_EQ(loaded->Probe(probe).status().code(), absl::StatusCode::kFailedPrecondition);

  v1::AssignRequest assign;
  assign.set_job_id("j");
  assign.add_splits(0);
  EXPECT_THAT(loaded->Assign(assign).status().message(), HasSubstr("expected cuts for 1 tier"));

  v1::LoadRequest other;
  other.set_job_id("j");
  other.mutable_spec()->mutable_policy()->set_name("different");
  EXPECT_EQ(loaded->Load(other).status().code(), absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(loaded->JobCount(), 1u);
  v1::ReleaseRequest release;
  release.set_job_id("j");
  EXPECT_TRUE(loaded->Release(release).ok());
  EXPECT_TRUE(loaded->Release(release).ok());  // idempotent
  EXPECT_EQ(loaded->JobCount(), 0u);
}

}  // namespace
}  // namespace tierscore::worker

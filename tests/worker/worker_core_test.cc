#include "worker/worker_core.h"

#include <string>

#include "engine/duplicates.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/yaml.h"

namespace tierscore::worker {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria: [{name: r, expr: "log1p(revenue_12m)", normalize: max, weight: 1, direction: higher}]
tiers: [{name: abc, abc: {}}]
)yaml";

// A worker holding two unequal splits, scored by log1p(revenue): split 0 is
// 200 customers with revenue 10000..10199 (scores 9.21..9.23), split 1 is
// 3800 customers with revenue 0..3799 in a few tied values (0..8.24).
class WorkerCoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<WorkerCore> Loaded() {
    auto core = WorkerCore::Create({.threads = 2});
    v1::LoadRequest load;
    load.set_job_id("j");
    *load.mutable_spec()->mutable_policy() = testing::PolicyFromYaml(kPolicy);
    for (const std::string& path : {high_, low_}) {
      const std::string text = testing::TempDir::Read(path);
      v1::Split* s = load.add_splits();
      s->set_index(load.splits_size() - 1);
      s->set_path(path);
      s->set_begin(static_cast<int64_t>(text.find('\n') + 1));
      s->set_end(static_cast<int64_t>(text.size()));
    }
    auto loaded = core->Load(load);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    v1::ScoreRequest score;
    score.set_job_id("j");
    score.add_splits(0);
    score.add_splits(1);
    score.add_criteria()->set_divisor(1);  // scores are log1p(revenue) itself
    auto scored = core->Score(score);
    EXPECT_TRUE(scored.ok()) << scored.status();
    return core;
  }

  v1::ProbeRequest Request(const std::vector<std::pair<double, double>>& ranges) {
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
    std::string high = "customer_id,revenue_12m\n", low = high;
    for (int i = 0; i < 200; ++i)
      high += "H" + std::to_string(i) + "," + std::to_string(10000 + i) + "\n";
    for (int i = 0; i < 3800; ++i)
      low += "L" + std::to_string(i) + "," + std::to_string((i % 40) * 95) + "\n";
    high_ = dir_.Write("high.csv", high);
    low_ = dir_.Write("low.csv", low);
  }

  testing::TempDir dir_;
  std::string high_;
  std::string low_;
};

TEST_F(WorkerCoreTest, NarrowingProbesAnswerLikeAFreshWorker) {
  auto cached = Loaded();
  // First everything; then [9, 10], all of split 0 but 5% of the rows: it
  // must not be kept, since split 0 matched more than it can keep. Then
  // ranges inside it, one outside, and a narrowing sequence in split 1:
  // [7, 8.3] is a fifth of the rows (kept), [7.5, 8] and [7.9, 8] inside it.
  const std::vector<std::vector<std::pair<double, double>>> sequence = {
      {{0, 20}},  {{9, 10}},  {{9.215, 9.22}}, {{0, 7}},
      {{7, 8.3}}, {{7.5, 8}}, {{7.9, 8}},      {{7.9, 8}, {0, 20}}};
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
  EXPECT_EQ(core->Score(score).status().code(), absl::StatusCode::kFailedPrecondition);

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

TEST_F(WorkerCoreTest, IdleJobsExpireAfterTheirLease) {
  auto core = Loaded();
  EXPECT_EQ(core->ExpireIdle(absl::Minutes(1)), 0);  // just used
  EXPECT_EQ(core->JobCount(), 1u);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(core->ExpireIdle(absl::Milliseconds(20)), 1);
  EXPECT_EQ(core->JobCount(), 0u);
  // The coordinator's next call learns that the job is gone.
  EXPECT_EQ(core->Probe(Request({{0, 20}})).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(WorkerCoreTest, LoadCutsIdsForTheCheckAndSkipsRowsItIsTold) {
  auto core = WorkerCore::Create({.threads = 1});
  v1::LoadRequest load;
  load.set_job_id("j");
  load.set_split_count(3);
  *load.mutable_spec()->mutable_policy() = testing::PolicyFromYaml(kPolicy);
  const std::string text = testing::TempDir::Read(high_);
  v1::Split* split = load.add_splits();
  split->set_index(1);
  split->set_path(high_);
  split->set_begin(static_cast<int64_t>(text.find('\n') + 1));
  split->set_end(static_cast<int64_t>(text.size()));
  auto loaded = core->Load(load);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  // Every row once, in the list of its id's target, with its row.
  int rows = 0;
  for (const v1::IdList& list : loaded->ids()) {
    EXPECT_EQ(list.split(), 1);
    ASSERT_EQ(list.ends_size(), list.rows_size());
    size_t begin = 0;
    for (int i = 0; i < list.ends_size(); ++i) {
      const std::string id = list.ids().substr(begin, list.ends(i) - begin);
      EXPECT_EQ(id, "H" + std::to_string(list.rows(i)));
      EXPECT_EQ(engine::IdTarget(id, 3), list.target());
      begin = list.ends(i);
      ++rows;
    }
  }
  EXPECT_EQ(rows, 200);

  // Checked with a list of another split that repeats H5 and H7 (twice).
  v1::CheckIdsRequest check;
  check.set_job_id("j");
  for (const v1::IdList& list : loaded->ids()) *check.add_ids() = list;
  for (const auto& [id, row] :
       std::vector<std::pair<std::string, int>>{{"H7", 3}, {"H5", 9}, {"H7", 4}}) {
    v1::IdList* other = check.add_ids();
    other->set_split(0);
    other->set_target(engine::IdTarget(id, 3));
    other->set_ids(id);
    other->add_ends(static_cast<uint32_t>(id.size()));
    other->add_rows(row);
  }
  auto checked = core->CheckIds(check);
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_EQ(checked->duplicates_size(), 2);
  EXPECT_EQ(checked->duplicates(0).id(), "H7");  // first at split 0 row 3
  EXPECT_EQ(checked->duplicates(0).places_size(), 3);
  EXPECT_EQ(checked->duplicates(0).places(2).split(), 1);
  EXPECT_EQ(checked->duplicates(0).places(2).row(), 7);
  EXPECT_EQ(checked->duplicates(1).id(), "H5");

  // Loaded again without rows 5 and 7: 198 rows, neither id among them.
  load.set_split_count(0);
  load.mutable_splits(0)->add_skip_rows(5);
  load.mutable_splits(0)->add_skip_rows(7);
  auto reloaded = core->Load(load);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->rows(), 198);
  EXPECT_EQ(reloaded->ids_size(), 0);
}

TEST_F(WorkerCoreTest, MalformedIdListsAndSkipsAreRefused) {
  auto core = WorkerCore::Create({.threads = 1});
  v1::CheckIdsRequest check;
  v1::IdList* list = check.add_ids();
  list->set_ids("abc");
  list->add_ends(2);
  list->add_ends(9);  // past the ids
  list->add_rows(0);
  list->add_rows(1);
  EXPECT_THAT(core->CheckIds(check).status().message(),
              HasSubstr("ids[0].ends[1]: 9 is not within [2, 3]"));
  list->add_ends(3);  // ends without rows
  EXPECT_THAT(core->CheckIds(check).status().message(), HasSubstr("3 ends but 2 rows"));

  v1::LoadRequest load;
  load.set_job_id("j");
  *load.mutable_spec()->mutable_policy() = testing::PolicyFromYaml(kPolicy);
  const std::string text = testing::TempDir::Read(high_);
  v1::Split* split = load.add_splits();
  split->set_path(high_);
  split->set_begin(static_cast<int64_t>(text.find('\n') + 1));
  split->set_end(static_cast<int64_t>(text.size()));
  split->add_skip_rows(9);
  split->add_skip_rows(3);  // not ascending
  EXPECT_THAT(core->Load(load).status().message(),
              HasSubstr("skip_rows[1] = 3 is not an ascending row of the split (200 rows)"));
  split->clear_skip_rows();
  split->add_skip_rows(200);
  EXPECT_EQ(core->Load(load).status().code(), absl::StatusCode::kInvalidArgument);
  split->clear_skip_rows();
  load.set_split_count(-1);
  EXPECT_THAT(core->Load(load).status().message(), HasSubstr("split_count: -1"));
}

}  // namespace
}  // namespace tierscore::worker

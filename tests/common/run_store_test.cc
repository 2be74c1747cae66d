// Published runs, against MemoryStore and a real redis-server.
#include "common/run_store.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/memory_store.h"
#include "common/redis_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::common {
namespace {

class RunStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = std::make_unique<MemoryStore>();
    } else {
      auto server = testing::RedisServer::Start(dir_.path());
      ASSERT_TRUE(server.ok()) << server.status();
      redis_ = *std::move(server);
      RedisStoreOptions o;
      o.redis.address = redis_->address();
      store_ = *RedisStore::Create(o);
    }
    runs_ = std::make_unique<RunStore>(store_.get());
  }

  // A run of `n` customers c0..c(n-1) whose records carry the run id and
  // score = i + salt, by a new attempt (returned; Publish names it).
  std::string WriteRun(const std::string& run, int n, double salt,
                       absl::Duration unpublished_ttl = absl::InfiniteDuration()) {
    std::string writer = RunStore::NewWriter();
    EXPECT_TRUE(Write(run, writer, n, salt, unpublished_ttl).ok());
    writers_[run] = writer;
    return writer;
  }

  // Publishes the run as its last WriteRun wrote it.
  absl::StatusOr<RunStore::Published> Publish(const v1::RunMeta& meta, absl::Duration retention) {
    return runs_->Publish(meta, writers_[meta.run_id()], retention);
  }

  absl::Status Write(const std::string& run, const std::string& writer, int n, double salt,
                     absl::Duration unpublished_ttl = absl::InfiniteDuration()) {
    std::vector<RunStore::Entry> entries;
    for (int i = 0; i < n; ++i) {
      RunStore::Entry e;
      e.customer_id = "c" + std::to_string(i);
      e.record.set_run_id(run);
      e.record.set_score(i + salt);
      e.record.add_tiers(i % 3);
      entries.push_back(std::move(e));
    }
    return runs_->Write(run, writer, RunStore::BucketCount(n), entries, unpublished_ttl);
  }

  // The scores of c0..c(n-1) in `run` (-1 where there is no record).
  std::vector<double> Scores(const std::string& run, int n) {
    std::vector<double> scores;
    auto records = runs_->Lookup(Meta(run, n), Ids(n));
    EXPECT_TRUE(records.ok()) << records.status();
    if (!records.ok()) return scores;
    for (const auto& r : *records) scores.push_back(r.has_value() ? r->score() : -1);
    return scores;
  }

  v1::RunMeta Meta(const std::string& run, int n, const std::string& previous = "") {
    v1::RunMeta m;
    m.set_run_id(run);
    m.set_previous_run(previous);
    m.set_alias("customers/default");
    m.set_buckets(RunStore::BucketCount(n));
    m.set_customers(n);
    return m;
  }

  std::vector<std::string> Ids(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back("c" + std::to_string(i));
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<RunStore> runs_;
  std::map<std::string, std::string> writers_;  // run -> its last attempt
};

TEST_P(RunStoreTest, RunsAreInvisibleUntilPublishedAndUnknownIdsAreNotFound) {
  WriteRun("r1", 1000, 0.5);
  EXPECT_EQ(runs_->Current("customers/default").status().code(), absl::StatusCode::kNotFound);
  auto published = Publish(Meta("r1", 1000), absl::Minutes(10));
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_TRUE(published->meta.previous_run().empty());
  auto run = runs_->Current("customers/default");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->run_id(), "r1");
  auto got = runs_->Lookup(*run, {"c999", "nobody", "c0"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE((*got)[0].has_value());
  EXPECT_EQ((*got)[0]->score(), 999.5);
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2]->tiers(0), 0);
}

TEST_P(RunStoreTest, ANewRunReplacesTheOldOneWhichExpires) {
  WriteRun("r1", 500, 0.25);
  ASSERT_TRUE(Publish(Meta("r1", 500), absl::Minutes(10)).ok());
  WriteRun("r2", 600, 0.75);
  // While r2 is written, lookups still read r1 only.
  auto before = runs_->Current("customers/default");
  EXPECT_EQ(before->run_id(), "r1");
  auto published = Publish(Meta("r2", 600, "r1"), absl::Milliseconds(200));
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->meta.previous_run(), "r1");
  EXPECT_TRUE(published->previous_expiry.ok()) << published->previous_expiry;
  auto now = runs_->Current("customers/default");
  EXPECT_EQ(now->run_id(), "r2");
  EXPECT_EQ((*runs_->Lookup(*now, {"c599"}))[0]->score(), 599.75);
  // The old run is readable for its retention, then gone.
  EXPECT_EQ((*runs_->Lookup(*before, {"c1"}))[0]->score(), 1.25);
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_FALSE((*runs_->Lookup(*before, {"c1"}))[0].has_value());
  EXPECT_EQ(runs_->Run("r1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*runs_->Lookup(*now, {"c1"}))[0]->score(), 1.75);
}

TEST_P(RunStoreTest, ThePublishThatLosesTheRaceIsAbortedAndChangesNothing) {
  WriteRun("r1", 100, 0.5);
  ASSERT_TRUE(Publish(Meta("r1", 100), absl::Minutes(10)).ok());
  // Two runs both assigned against r1: the first switch wins.
  WriteRun("r2", 100, 0.25);
  WriteRun("r3", 100, 0.75, absl::Minutes(10));
  ASSERT_TRUE(Publish(Meta("r2", 100, "r1"), absl::Minutes(10)).ok());
  auto lost = Publish(Meta("r3", 100, "r1"), absl::Milliseconds(200));
  ASSERT_EQ(lost.status().code(), absl::StatusCode::kAborted) << lost.status();
  EXPECT_THAT(std::string(lost.status().message()), ::testing::HasSubstr("moved to run r2"));
  EXPECT_EQ(runs_->Current("customers/default")->run_id(), "r2");
  // A first publish expects no run: it loses to any run already there.
  WriteRun("r4", 100, 0.5);
  EXPECT_EQ(Publish(Meta("r4", 100), absl::Minutes(10)).status().code(),
            absl::StatusCode::kAborted);
  // The loser's run expires like a replaced one; the winner's chain holds.
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(runs_->Run("r3").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runs_->Run("r2")->previous_run(), "r1");
  // Retried against the run now current, the loser publishes.
  WriteRun("r3", 100, 0.75, absl::Minutes(10));
  auto retried = Publish(Meta("r3", 100, "r2"), absl::Minutes(10));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->replaced, "r2");
  EXPECT_EQ((*runs_->Lookup(*runs_->Current("customers/default"), {"c7"}))[0]->score(), 7.75);
}

TEST_P(RunStoreTest, ALookupNeverSeesAMixOfTwoRuns) {
  constexpr int kCustomers = 2000;
  WriteRun("r0", kCustomers, 0);
  ASSERT_TRUE(Publish(Meta("r0", kCustomers), absl::Minutes(10)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> batches{0}, mixed{0}, missing{0};
  std::thread reader([&] {
    const std::vector<std::string> ids = Ids(kCustomers);
    while (!done) {
      auto run = runs_->Current("customers/default");
      if (!run.ok()) continue;
      auto got = runs_->Lookup(*run, ids);
      if (!got.ok()) continue;
      std::set<std::string> seen;
      for (const auto& r : *got) {
        if (!r.has_value()) {
          ++missing;
        } else {
          seen.insert(r->run_id());
        }
      }
      if (seen.size() != 1 || *seen.begin() != run->run_id()) ++mixed;
      ++batches;
    }
  });
  for (int r = 1; r <= 5; ++r) {
    const std::string run = "r" + std::to_string(r);
    WriteRun(run, kCustomers, r);
    ASSERT_TRUE(
        Publish(Meta(run, kCustomers, "r" + std::to_string(r - 1)), absl::Minutes(10)).ok());
  }
  absl::SleepFor(absl::Milliseconds(50));
  done = true;
  reader.join();
  EXPECT_GT(batches.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(runs_->Current("customers/default")->run_id(), "r5");
}

TEST_P(RunStoreTest, ARunNeverPublishedExpiresAPublishedOneStays) {
  WriteRun("failed", 500, 0, absl::Milliseconds(200));
  WriteRun("good", 500, 0, absl::Milliseconds(200));
  ASSERT_TRUE(Publish(Meta("good", 500), absl::Minutes(10)).ok());
  absl::SleepFor(absl::Milliseconds(400));
  auto failed = runs_->Lookup(Meta("failed", 500), Ids(500));
  ASSERT_TRUE(failed.ok());
  for (const auto& r : *failed) EXPECT_FALSE(r.has_value());
  auto good = runs_->Lookup(Meta("good", 500), Ids(500));
  ASSERT_TRUE(good.ok());
  for (const auto& r : *good) EXPECT_TRUE(r.has_value());
}

TEST_P(RunStoreTest, AWriteThatArrivesAfterThePublicationChangesNothing) {
  // A worker given up on during publication answers late, with other
  // scores and a time to live: the published run must keep its records,
  // unchanged, for good.
  const std::string late = WriteRun("r1", 300, 0, absl::Milliseconds(300));
  ASSERT_TRUE(Publish(Meta("r1", 300), absl::Minutes(10)).ok());
  ASSERT_TRUE(Write("r1", late, 300, 0.5, absl::Milliseconds(300)).ok());
  absl::SleepFor(absl::Milliseconds(600));
  const std::vector<double> scores = Scores("r1", 300);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(scores[static_cast<size_t>(i)], i) << i;
}

TEST_P(RunStoreTest, OnlyThePublishedAttemptsRecordsBecomeTheRuns) {
  const std::string first = WriteRun("r1", 200, 0.25);
  const std::string second = WriteRun("r1", 200, 0.5);
  EXPECT_NE(first, second);
  ASSERT_TRUE(Write("r1", first, 200, 0.75).ok());  // the first attempt, late
  EXPECT_EQ(Write("r1", "", 200, 0.5).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Publish(Meta("r1", 200), absl::Minutes(10)).ok());
  const std::vector<double> scores = Scores("r1", 200);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(scores[static_cast<size_t>(i)], i + 0.5) << i;
}

TEST_P(RunStoreTest, ADiscardedAttemptLeavesNothing) {
  const int buckets = RunStore::BucketCount(5000);
  const std::string writer = WriteRun("gone", 5000, 0, absl::Hours(1));
  std::vector<std::string> keys;
  for (int b = 0; b < buckets; ++b) keys.push_back(absl::StrCat("run:gone:w:", writer, ":b:", b));
  auto written = store_->HashGetAllMany(keys);
  ASSERT_TRUE(written.ok());
  size_t records = 0;
  for (const auto& fields : *written) records += fields.size();
  EXPECT_EQ(records, 5000u);
  ASSERT_TRUE(runs_->Discard("gone", writer, buckets).ok());
  written = store_->HashGetAllMany(keys);
  ASSERT_TRUE(written.ok());
  for (const auto& fields : *written) ASSERT_TRUE(fields.empty());
  for (double score : Scores("gone", 5000)) ASSERT_EQ(score, -1);
}

TEST_P(RunStoreTest, EveryRecordOfARunIsVisitedOnce) {
  WriteRun("r1", 20000, 0.5);  // 312 buckets: two round trips
  ASSERT_TRUE(Publish(Meta("r1", 20000), absl::Minutes(10)).ok());
  std::map<std::string, double> seen;
  ASSERT_TRUE(runs_
                  ->ForEachRecord(Meta("r1", 20000),
                                  [&](const std::string& id, const v1::TierRecord& r) {
                                    EXPECT_TRUE(seen.emplace(id, r.score()).second) << id;
                                    EXPECT_EQ(r.run_id(), "r1");
                                    return absl::OkStatus();
                                  })
                  .ok());
  ASSERT_EQ(seen.size(), 20000u);
  EXPECT_EQ(seen["c123"], 123.5);
  int calls = 0;
  const absl::Status stopped =
      runs_->ForEachRecord(Meta("r1", 20000), [&](const std::string&, const v1::TierRecord&) {
        return ++calls == 10 ? absl::CancelledError("enough") : absl::OkStatus();
      });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 10);
}

TEST_P(RunStoreTest, BucketsAreStableAndInRange) {
  EXPECT_EQ(RunStore::BucketCount(0), 1);
  EXPECT_EQ(RunStore::BucketCount(1000000), 15625);
  std::vector<int> counts(100, 0);
  for (int i = 0; i < 100000; ++i) {
    const int b = RunStore::BucketOf("C" + std::to_string(i), 100);
    ASSERT_GE(b, 0);
    ASSERT_LT(b, 100);
    ++counts[static_cast<size_t>(b)];
  }
  for (int c : counts) EXPECT_NEAR(c, 1000, 200);  // spread evenly
  EXPECT_EQ(RunStore::BucketOf("C0000123", 997), RunStore::BucketOf("C0000123", 997));
  EXPECT_EQ(runs_->Write("", "w", 1, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runs_->Publish(Meta("r", 1), "", absl::Minutes(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, RunStoreTest, ::testing::Values("memory", "redis"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tierscore::common

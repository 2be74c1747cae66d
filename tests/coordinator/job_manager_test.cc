#include "coordinator/job_manager.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/memory_store.h"
#include "common/run_store.h"
#include "coordinator/in_process_worker_client.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/worker_fakes.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;

// An in-process worker whose Score replies are held until the test opens
// the gate.
struct GatedScoreWorker {
  explicit GatedScoreWorker(worker::WorkerCore* core)
      : inner(core, testing::TestExecutor(), "w"), gated(&inner, {"score"}) {}
  InProcessWorkerClient inner;
  testing::GatedWorker gated;
};

class JobManagerTest : public ::testing::Test {
 protected:
  // Published as `alias`, or nowhere.
  v1::JobSpec Spec(const std::string& alias = "") {
    v1::JobSpec spec;
    spec.add_inputs(input_);
    spec.set_alias(alias);
    spec.set_no_publish(alias.empty());
    *spec.mutable_policy() = testing::PolicyFromYaml(R"yaml(
id_column: customer_id
value: revenue_12m
criteria: [{name: r, expr: revenue_12m, normalize: max, weight: 1, direction: higher}]
tiers: [{name: abc, abc: {}}]
)yaml");
    return spec;
  }

  void SetUp() override {
    engine::GeneratorOptions gen;
    gen.rows = 3000;
    input_ = dir_.Write("c.csv", engine::GenerateCustomersCsv(gen));
  }

  v1::Job WaitFinal(JobManager& m, const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      auto j = m.Get(id);
      if (j->state() == v1::JOB_STATE_SUCCEEDED || j->state() == v1::JOB_STATE_FAILED ||
          j->state() == v1::JOB_STATE_CANCELLED) {
        return *j;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return v1::Job();
  }

  testing::TempDir dir_;
  std::string input_;
};

TEST_F(JobManagerTest, CancellingARunningJobStopsItAndFreesTheWorkers) {
  auto core = worker::WorkerCore::Create({.threads = 1});
  GatedScoreWorker worker(core.get());
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker.gated}, {});
  ASSERT_TRUE(manager.ok());
  auto job = (*manager)->Submit(Spec());
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(worker.gated.WaitHeld(1));  // the job is running, in Score
  EXPECT_EQ((*manager)->Get(job->id())->state(), v1::JOB_STATE_RUNNING);
  ASSERT_TRUE((*manager)->Cancel(job->id()).ok());
  // The Score reply is never released: the cancel reaches the call itself.
  const v1::Job end = WaitFinal(**manager, job->id());
  EXPECT_EQ(end.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(end.error_code(), static_cast<int>(absl::StatusCode::kCancelled));
  // Released: the Release call may still be on its way when the job ends.
  for (int i = 0; i < 500 && core->JobCount() != 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(core->JobCount(), 0u);
}

TEST_F(JobManagerTest, ResultsOfOlderJobsAreReleasedKeepingTheirSummaries) {
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  JobManagerOptions options;
  options.keep_results = 1;
  std::vector<std::pair<v1::JobState, v1::JobState>> changes;
  absl::Mutex mu;
  options.on_state_change = [&](const v1::Job& j, v1::JobState previous) {
    absl::MutexLock lock(&mu);
    changes.emplace_back(previous, j.state());
  };
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  auto first = (*manager)->Submit(Spec());
  ASSERT_EQ(WaitFinal(**manager, first->id()).state(), v1::JOB_STATE_SUCCEEDED);
  v1::JobSpec again = Spec();
  again.set_no_cache(true);  // a second real run
  auto second = (*manager)->Submit(again);
  ASSERT_EQ(WaitFinal(**manager, second->id()).state(), v1::JOB_STATE_SUCCEEDED);

  auto sink = [](const std::string&) { return absl::OkStatus(); };
  absl::Status old = (*manager)->ExportResults(first->id(), false, sink);
  EXPECT_EQ(old.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(old.message(), HasSubstr("were released"));
  EXPECT_TRUE((*manager)->Kpis(first->id()).ok());  // the summary stays
  EXPECT_TRUE((*manager)->ExportResults(second->id(), false, sink).ok());
  // Only the kept job's shards: the Release call may still be on its way.
  for (int i = 0; i < 500 && core->JobCount() != 1; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(core->JobCount(), 1u);

  absl::MutexLock lock(&mu);
  const std::vector<std::pair<v1::JobState, v1::JobState>> lifecycle = {
      {v1::JOB_STATE_UNSPECIFIED, v1::JOB_STATE_QUEUED},
      {v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING},
      {v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED}};
  ASSERT_EQ(changes.size(), 6u);
  EXPECT_EQ(std::vector(changes.begin(), changes.begin() + 3), lifecycle);
}

// A client that stops reading its export holds up neither another export
// of the same job nor the release of the job's results; the results it
// was reading are freed once it is done.
TEST_F(JobManagerTest, ASlowExportDelaysNoOtherAndItsResultsAreFreedAfterIt) {
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  JobManagerOptions options;
  options.keep_results = 1;
  options.runner.export_calls_per_worker = 1;  // the slow export has more splits to fetch
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  v1::JobSpec spec = Spec();
  spec.set_split_bytes(20000);  // several splits
  auto first = (*manager)->Submit(spec);
  ASSERT_EQ(WaitFinal(**manager, first->id()).state(), v1::JOB_STATE_SUCCEEDED);

  std::string whole;
  ASSERT_TRUE((*manager)
                  ->ExportResults(first->id(), false,
                                  [&](const std::string& c) {
                                    whole += c;
                                    return absl::OkStatus();
                                  })
                  .ok());
  absl::Notification reading, go_on;
  std::string slow_text;
  absl::Status slow;
  std::thread slow_reader([&] {
    slow = (*manager)->ExportResults(first->id(), false, [&](const std::string& c) {
      slow_text += c;
      if (!reading.HasBeenNotified()) {
        reading.Notify();
        go_on.WaitForNotification();
      }
      return absl::OkStatus();
    });
  });
  reading.WaitForNotification();

  std::string other;
  absl::Notification other_done;
  std::thread other_reader([&] {
    EXPECT_TRUE((*manager)
                    ->ExportResults(first->id(), false,
                                    [&](const std::string& c) {
                                      other += c;
                                      return absl::OkStatus();
                                    })
                    .ok());
    other_done.Notify();
  });
  const bool not_blocked = other_done.WaitForNotificationWithTimeout(absl::Seconds(60));
  EXPECT_TRUE(not_blocked) << "an export waited for a slow one";
  EXPECT_EQ(other, whole);

  // A second job evicts the first's results while the slow export reads.
  v1::JobSpec again = Spec();
  again.set_no_cache(true);
  auto second = (*manager)->Submit(again);
  ASSERT_EQ(WaitFinal(**manager, second->id()).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(core->JobCount(), 2u);  // the first's shards stay while read
  go_on.Notify();
  slow_reader.join();
  other_reader.join();
  EXPECT_TRUE(slow.ok()) << slow;
  EXPECT_EQ(slow_text, whole);
  EXPECT_EQ(core->JobCount(), 1u);  // freed by the export that held them last
}

TEST_F(JobManagerTest, AnEqualJobReturnsTheFinishedJobsResultAtOnce) {
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, {});
  auto csv = [&](const std::string& id) {
    std::string out;
    EXPECT_TRUE((*manager)
                    ->ExportResults(id, false,
                                    [&](const std::string& c) {
                                      out += c;
                                      return absl::OkStatus();
                                    })
                    .ok());
    return out;
  };
  const v1::Job first = WaitFinal(**manager, (*manager)->Submit(Spec())->id());
  ASSERT_EQ(first.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_TRUE(first.cached_from().empty());

  const v1::Job cached = WaitFinal(**manager, (*manager)->Submit(Spec())->id());
  EXPECT_EQ(cached.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(cached.cached_from(), first.id());
  EXPECT_EQ(cached.result().tiers(0).SerializeAsString(),
            first.result().tiers(0).SerializeAsString());
  EXPECT_EQ(cached.result().stats().phases_size(), 0);  // it did not run
  EXPECT_EQ(csv(cached.id()), csv(first.id()));

  v1::JobSpec forced = Spec();
  forced.set_no_cache(true);
  EXPECT_TRUE(WaitFinal(**manager, (*manager)->Submit(forced)->id()).cached_from().empty());

  // The same path with new content (a new modification time) runs again.
  absl::SleepFor(absl::Milliseconds(20));
  engine::GeneratorOptions gen;
  gen.rows = 3000;
  gen.seed = 99;
  dir_.Write("c.csv", engine::GenerateCustomersCsv(gen));
  const v1::Job changed = WaitFinal(**manager, (*manager)->Submit(Spec())->id());
  EXPECT_TRUE(changed.cached_from().empty());
  EXPECT_NE(changed.result().total_value(), first.result().total_value());
}

// Retention: over many jobs, only the newest keep_finished are remembered,
// in memory, in the job store and in the result cache; the others are
// NOT_FOUND, also after a restart.
TEST_F(JobManagerTest, FinishedJobsBeyondTheRetentionAreForgotten) {
  common::MemoryStore store;
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  JobManagerOptions options;
  options.job_store = &store;
  options.keep_finished = 3;
  options.keep_results = 1;
  options.max_running = 1;
  std::vector<std::string> ids;
  {
    auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
    ASSERT_TRUE(manager.ok());
    for (int i = 0; i < 12; ++i) {
      v1::JobSpec spec = Spec();
      spec.mutable_policy()->mutable_criteria(0)->set_weight(1 + i);  // no cache hit
      auto job = (*manager)->Submit(spec);
      ASSERT_TRUE(job.ok()) << job.status();
      ids.push_back(job->id());
      ASSERT_EQ(WaitFinal(**manager, job->id()).state(), v1::JOB_STATE_SUCCEEDED);
    }
    // The newest three, and the one whose results the workers keep.
    EXPECT_LE((*manager)->List().size(), 4u);
    EXPECT_TRUE((*manager)->Get(ids.back()).ok());
    EXPECT_TRUE((*manager)->Get(ids[ids.size() - 3]).ok());
    EXPECT_EQ((*manager)->Get(ids[0]).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ((*manager)->Get(ids[5]).status().code(), absl::StatusCode::kNotFound);
  }  // the saver drains
  auto index = store.HashGetAll("jobs");
  ASSERT_TRUE(index.ok());
  EXPECT_LE(index->size(), 4u);
  EXPECT_FALSE(store.Get("job:" + ids[0])->has_value());
  auto cache = store.HashGetAll("cache");
  ASSERT_TRUE(cache.ok());
  EXPECT_LE(cache->size(), 4u);
  for (const auto& [fingerprint, id] : *cache) {
    EXPECT_NE(std::find(ids.end() - 4, ids.end(), id), ids.end()) << id;
  }
  // A restarted manager remembers the same few, and forgets by age too.
  options.keep_finished_for = absl::ZeroDuration();
  auto restarted = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ((*restarted)->Get(ids[0]).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE((*restarted)->List().empty());
}

// A job store that answers UNAVAILABLE to the next reads of a hash, as a
// Redis that is still starting (or loading its append-only file) does.
class StartingStore : public common::MemoryStore {
 public:
  void FailNextReads(int n) { outages_ = n; }
  absl::StatusOr<std::vector<Fields>> HashGetAllMany(
      const std::vector<std::string>& keys) override {
    if (outages_.fetch_sub(1) > 0) return absl::UnavailableError("connection refused");
    return MemoryStore::HashGetAllMany(keys);
  }

 private:
  std::atomic<int> outages_{0};
};

// A coordinator that starts before its Redis waits for it, and so never
// serves without its past jobs; one whose store never answers does not
// start, saying why.
TEST_F(JobManagerTest, AStartWaitsForTheJobStoreAndFailsWhenItNeverAnswers) {
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  StartingStore store;
  JobManagerOptions options;
  options.job_store = &store;
  std::string id;
  {
    auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
    ASSERT_TRUE(manager.ok()) << manager.status();
    id = (*manager)->Submit(Spec())->id();
    ASSERT_EQ(WaitFinal(**manager, id).state(), v1::JOB_STATE_SUCCEEDED);
  }
  store.FailNextReads(2);
  options.store_wait = absl::Seconds(30);
  auto restarted = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  auto past = (*restarted)->Get(id);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_EQ(past->state(), v1::JOB_STATE_SUCCEEDED);
  restarted->reset();

  store.FailNextReads(1 << 20);
  options.store_wait = absl::Milliseconds(1500);
  auto never = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  EXPECT_EQ(never.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(never.status().message(), HasSubstr("did not answer within 1.5s"));
  EXPECT_THAT(never.status().message(), HasSubstr("connection refused"));
}

TEST_F(JobManagerTest, ARestartedManagerListsPastJobsAndRerunsInterruptedOnes) {
  common::MemoryStore store;  // the job store, and where runs are published
  auto core = worker::WorkerCore::Create({.threads = 1, .store = &store});
  JobManagerOptions options;
  options.job_store = &store;
  options.runner.store = &store;
  std::string done_id, interrupted_id;
  auto export_lines = [](JobManager& m,
                         const std::string& id) -> absl::StatusOr<std::vector<std::string>> {
    std::string csv;
    absl::Status st = m.ExportResults(id, false, [&](const std::string& c) {
      csv += c;
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
    std::sort(lines.begin() + 1, lines.end());  // the header stays first
    return lines;
  };
  std::vector<std::string> exported;
  {
    GatedScoreWorker worker(core.get());
    worker.gated.Open();  // the first job runs freely
    auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker.gated}, options);
    ASSERT_TRUE(manager.ok());
    done_id = (*manager)->Submit(Spec("customers/default"))->id();
    ASSERT_EQ(WaitFinal(**manager, done_id).state(), v1::JOB_STATE_SUCCEEDED);
    exported = *export_lines(**manager, done_id);
  }
  {
    GatedScoreWorker worker(core.get());
    auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker.gated}, options);
    ASSERT_TRUE(manager.ok());
    v1::JobSpec spec = Spec("customers/default");
    spec.set_no_cache(true);
    interrupted_id = (*manager)->Submit(spec)->id();
    ASSERT_TRUE(worker.gated.WaitHeld(1));  // running when the manager stops
    manager->reset();                       // cancels the held call; does not wait for it
  }
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  ASSERT_EQ((*manager)->List().size(), 2u);
  const v1::Job past = *(*manager)->Get(done_id);
  EXPECT_EQ(past.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_TRUE((*manager)->Kpis(done_id).ok());
  EXPECT_GT(past.result().customers(), 0);
  // Its per-customer results went with the old manager's workers; they are
  // served from its published run (the same rows, in another order), but
  // not with the contributions, which that keeps at single precision.
  auto from_run = export_lines(**manager, done_id);
  ASSERT_TRUE(from_run.ok()) << from_run.status();
  EXPECT_EQ(*from_run, exported);
  EXPECT_EQ(exported.size(), 3001u);
  const absl::Status explained =
      (*manager)->ExportResults(done_id, true, [](const std::string&) { return absl::OkStatus(); });
  EXPECT_EQ(explained.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(explained.message(), HasSubstr("single precision"));
  // The interrupted job runs again, to the end.
  const v1::Job rerun = WaitFinal(**manager, interrupted_id);
  EXPECT_EQ(rerun.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(rerun.result().customers(), past.result().customers());

  // The result cache outlived the restart: a job that needs only the
  // summary gets a past job's result (the latest equal one); one that
  // needs per-customer results runs, as they went with the old workers.
  v1::JobSpec summary = Spec("customers/default");
  summary.set_summary_only(true);
  const v1::Job cached = WaitFinal(**manager, (*manager)->Submit(summary)->id());
  EXPECT_EQ(cached.cached_from(), interrupted_id);
  EXPECT_EQ(cached.result().tiers(0).SerializeAsString(),
            past.result().tiers(0).SerializeAsString());
  // ... and after a new manager that did not run anything either.
  manager->reset();
  manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  EXPECT_FALSE(WaitFinal(**manager, (*manager)->Submit(summary)->id()).cached_from().empty());
  EXPECT_TRUE(WaitFinal(**manager, (*manager)->Submit(Spec("customers/default"))->id())
                  .cached_from()
                  .empty());
}

// A MemoryStore that answers UNAVAILABLE to every read while `down`.
class FlakyStore : public common::MemoryStore {
 public:
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) override {
    if (down) return absl::UnavailableError("store down");
    return MemoryStore::Get(key);
  }
  std::atomic<bool> down{false};
};

TEST_F(JobManagerTest, AFailedPublicationIsRetriedWhileTheResultsAreKept) {
  FlakyStore store;
  auto core = worker::WorkerCore::Create({.threads = 1, .store = &store});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  JobManagerOptions options;
  options.runner.store = &store;
  options.keep_results = 1;
  std::vector<std::string> published_aliases;
  options.on_published = [&](const std::string& alias) { published_aliases.push_back(alias); };
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  v1::JobSpec spec = Spec("customers/default");
  spec.set_no_cache(true);

  store.down = true;  // the alias's current run cannot be read: not published
  const v1::Job failed = WaitFinal(**manager, (*manager)->Submit(spec)->id());
  ASSERT_EQ(failed.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_FALSE(failed.result().publication().published());
  EXPECT_THAT(failed.result().publication().error(), HasSubstr("store down"));
  // Nor is it an answer from the cache: an equal job runs (and fails to
  // publish too).
  v1::JobSpec cached = Spec("customers/default");
  EXPECT_TRUE(WaitFinal(**manager, (*manager)->Submit(cached)->id()).cached_from().empty());

  // The first job's results were released by the second: nothing to retry.
  auto released = (*manager)->Publish(failed.id());
  EXPECT_EQ(released.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(released.status().message(), HasSubstr("released"));

  const v1::Job kept = WaitFinal(**manager, (*manager)->Submit(spec)->id());
  EXPECT_FALSE(kept.result().publication().published());
  EXPECT_FALSE((*manager)->Publish(kept.id())->result().publication().published());  // still down
  store.down = false;
  auto retried = (*manager)->Publish(kept.id());
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->result().publication().published())
      << retried->result().publication().error();
  EXPECT_EQ(retried->result().publication().records(), 3000);
  EXPECT_EQ((*manager)->Get(kept.id())->result().publication().run_id(), kept.id());
  EXPECT_EQ(published_aliases, std::vector<std::string>{"customers/default"});
  // Published now: a second retry returns the job and publishes nothing.
  EXPECT_TRUE((*manager)->Publish(kept.id())->result().publication().published());
  EXPECT_EQ(published_aliases.size(), 1u);
}

// Holds reads of an alias until `n` have arrived (or a few seconds pass),
// so that n jobs are assigned against the same run of the alias.
class RacingStore : public common::MemoryStore {
 public:
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) override {
    if (absl::StartsWith(key, "alias:")) {
      absl::MutexLock lock(&mu_);
      if (arrived_ < hold_) {
        ++arrived_;
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](RacingStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
                                   return s->arrived_ >= s->hold_;
                                 },
                                 this),
                             absl::Seconds(20));
      }
    }
    return MemoryStore::Get(key);
  }
  void Hold(int n) {
    absl::MutexLock lock(&mu_);
    hold_ = n;
    arrived_ = 0;
  }

 private:
  absl::Mutex mu_;
  int hold_ ABSL_GUARDED_BY(mu_) = 0;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(JobManagerTest, TwoJobsPublishingToOneAliasAtOnceKeepTheChainOfRuns) {
  RacingStore store;
  auto core = worker::WorkerCore::Create({.threads = 2, .store = &store});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  JobManagerOptions options;
  options.max_running = 2;
  options.runner.store = &store;
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  v1::JobSpec spec = Spec("customers/race");
  spec.set_no_cache(true);
  const v1::Job first = WaitFinal(**manager, (*manager)->Submit(spec)->id());
  ASSERT_TRUE(first.result().publication().published()) << first.result().publication().error();

  // Both read the alias (run `first`) before either publishes.
  store.Hold(2);
  const std::string a = (*manager)->Submit(spec)->id();
  const std::string b = (*manager)->Submit(spec)->id();
  const v1::Job ja = WaitFinal(**manager, a), jb = WaitFinal(**manager, b);
  ASSERT_TRUE(ja.result().publication().published()) << ja.result().publication().error();
  ASSERT_TRUE(jb.result().publication().published()) << jb.result().publication().error();
  // One won the switch; the other was assigned again against the winner's run.
  const bool a_won = ja.result().publication().previous_run() == first.id();
  const v1::Job& winner = a_won ? ja : jb;
  const v1::Job& loser = a_won ? jb : ja;
  EXPECT_EQ(winner.result().publication().previous_run(), first.id());
  EXPECT_EQ(loser.result().publication().previous_run(), winner.id());
  ASSERT_EQ(loser.result().kpis().migration_size(), 1);
  EXPECT_EQ(loser.result().kpis().migration(0).previous_run(), winner.id());
  // The chain as stored: first <- winner <- loser, the alias at the end.
  common::RunStore runs(&store);
  EXPECT_EQ(*runs.CurrentRunId("customers/race"), loser.id());
  EXPECT_EQ(runs.Run(loser.id())->previous_run(), winner.id());
  EXPECT_EQ(runs.Run(winner.id())->previous_run(), first.id());
  EXPECT_EQ(runs.Run(first.id())->previous_run(), "");
}

TEST_F(JobManagerTest, APublishThatKeepsLosingIsAbortedAndCanBeRetried) {
  RacingStore store;
  auto core = worker::WorkerCore::Create({.threads = 2, .store = &store});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  JobManagerOptions options;
  options.max_running = 2;
  options.runner.store = &store;
  options.runner.publish_attempts = 1;
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  v1::JobSpec spec = Spec("customers/race");
  spec.set_no_cache(true);
  store.Hold(2);
  const std::string a = (*manager)->Submit(spec)->id();
  const std::string b = (*manager)->Submit(spec)->id();
  const v1::Job ja = WaitFinal(**manager, a), jb = WaitFinal(**manager, b);
  ASSERT_NE(ja.result().publication().published(), jb.result().publication().published());
  const v1::Job& winner = ja.result().publication().published() ? ja : jb;
  const v1::Job& loser = ja.result().publication().published() ? jb : ja;
  EXPECT_EQ(loser.state(), v1::JOB_STATE_SUCCEEDED);  // its result stands
  EXPECT_EQ(loser.result().publication().error_code(),
            static_cast<int>(absl::StatusCode::kAborted));
  EXPECT_THAT(loser.result().publication().error(),
              HasSubstr("customers/race moved to run " + winner.id()));
  common::RunStore runs(&store);
  EXPECT_EQ(*runs.CurrentRunId("customers/race"), winner.id());
  // Published again, it is assigned against the winner's run.
  auto retried = (*manager)->Publish(loser.id());
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->result().publication().published());
  EXPECT_EQ(retried->result().publication().previous_run(), winner.id());
  EXPECT_EQ(*runs.CurrentRunId("customers/race"), loser.id());
}

TEST_F(JobManagerTest, ADryRunComparesWithTheAliasAndPublishesNothing) {
  common::MemoryStore store;
  auto core = worker::WorkerCore::Create({.threads = 1, .store = &store});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  JobManagerOptions options;
  options.runner.store = &store;
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, options);
  ASSERT_TRUE(manager.ok());
  const v1::Job published = WaitFinal(**manager, (*manager)->Submit(Spec("customers/d"))->id());
  ASSERT_TRUE(published.result().publication().published());
  v1::JobSpec whatif = Spec("customers/d");
  whatif.set_no_publish(true);
  for (int i = 0; i < 2; ++i) {  // never from the cache
    const v1::Job dry = WaitFinal(**manager, (*manager)->Submit(whatif)->id());
    ASSERT_EQ(dry.state(), v1::JOB_STATE_SUCCEEDED) << dry.error();
    EXPECT_TRUE(dry.cached_from().empty());
    EXPECT_FALSE(dry.result().publication().published());
    ASSERT_EQ(dry.result().kpis().migration_size(), 1);
    EXPECT_EQ(dry.result().kpis().migration(0).previous_run(), published.id());
    EXPECT_EQ(*common::RunStore(&store).CurrentRunId("customers/d"), published.id());
    EXPECT_EQ((*manager)->Publish(dry.id()).status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST_F(JobManagerTest, BadSpecsAreRefusedAtSubmission) {
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient worker(core.get(), testing::TestExecutor(), "w");
  auto manager = JobManager::Create(std::vector<WorkerClient*>{&worker}, {});
  v1::JobSpec no_inputs = Spec();
  no_inputs.clear_inputs();
  EXPECT_EQ((*manager)->Submit(no_inputs).status().code(), absl::StatusCode::kInvalidArgument);
  v1::JobSpec bad = Spec();
  bad.mutable_policy()->mutable_tiers(0)->mutable_abc()->add_boundaries(2);
  EXPECT_THAT((*manager)->Submit(bad).status().message(), HasSubstr("tiers[0] (abc).abc"));
  EXPECT_TRUE((*manager)->List().empty());
}

}  // namespace
}  // namespace tierscore::coordinator

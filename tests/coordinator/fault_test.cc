// Worker faults in every phase, injected at the WorkerClient seam: a worker
// that dies (UNAVAILABLE), hangs (DEADLINE_EXCEEDED) or restarts empty
// (FAILED_PRECONDITION). The job must still equal the reference.
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/memory_store.h"
#include "common/run_store.h"
#include "coordinator/in_process_worker_client.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/duplicate_data.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/worker_fakes.h"

namespace tierscore::coordinator {
namespace {

enum class Fault { kDies, kHangs, kRestarts };

// An in-process worker that fails on the `nth` call of `phase` and, for
// kDies and kHangs, on every call after it.
class FaultyWorker : public testing::WorkerDecorator<FaultyWorker> {
 public:
  // `store` (borrowed; may be null) is where its cores publish.
  FaultyWorker(std::string phase, int nth, Fault fault, common::Store* store = nullptr)
      : phase_(std::move(phase)), nth_(nth), fault_(fault), store_(store) {
    absl::MutexLock lock(&mu_);
    Restart();
  }

  std::string name() const override { return "faulty"; }
  bool tripped() const { return tripped_.load(); }

  template <typename Request, typename Response, typename Forward>
  void Route(const std::string& phase, Request r, const CallOptions& o, Reply<Response> done,
             Forward forward) {
    WorkerClient* target;
    {
      absl::MutexLock lock(&mu_);
      bool fail = tripped_ && fault_ != Fault::kRestarts;
      if (!fail && phase == phase_ && ++calls_ == nth_) {
        tripped_ = true;
        fail = fault_ != Fault::kRestarts;
        if (!fail) Restart();  // the call goes to a worker that knows nothing
      }
      if (fail) {
        target = nullptr;
      } else {
        target = client_.get();
      }
    }
    if (target == nullptr) {
      done(Failure());
      return;
    }
    forward(*target, std::move(r), o, std::move(done));
  }

 private:
  // A fresh worker behind the same name. Calls already running on the old
  // one finish there (as a real process's answers already sent would), so
  // it is retired, not destroyed.
  void Restart() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (core_ != nullptr) {
      retired_cores_.push_back(std::move(core_));
      retired_clients_.push_back(std::move(client_));
    }
    core_ = worker::WorkerCore::Create({.threads = 1, .store = store_});
    client_ =
        std::make_unique<InProcessWorkerClient>(core_.get(), testing::TestExecutor(), "faulty");
  }

  absl::Status Failure() const {
    return fault_ == Fault::kDies ? absl::UnavailableError("connection refused")
                                  : absl::DeadlineExceededError("deadline exceeded");
  }

  const std::string phase_;
  const int nth_;
  const Fault fault_;
  common::Store* const store_;
  std::atomic<bool> tripped_{false};
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<worker::WorkerCore> core_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<InProcessWorkerClient> client_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<worker::WorkerCore>> retired_cores_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<InProcessWorkerClient>> retired_clients_ ABSL_GUARDED_BY(mu_);
};

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: max, weight: 0.6, direction: higher}
  - {name: recency, expr: days_since_last_order, normalize: percentile, weight: 0.4, direction: lower}
tiers:
  - name: ladder
    pareto: {boundaries: [0.5, 0.7, 0.8, 0.9, 0.95, 0.98],
             names: [Diamond, Platinum, Gold, Silver, Bronze, Standard, Basic]}
  - name: top
    quantile: {boundaries: [0.01, 0.1], names: [Top1, Top10, Rest]}
)yaml";

constexpr char kKpis[] = R"yaml(
grouping_sets: [[ladder, region], [top], []]
metrics:
  - {name: customers, agg: count}
  - {name: revenue, agg: sum, expr: revenue_12m}
  - {name: nps, agg: nps, expr: nps_score}
)yaml";

struct Case {
  const char* phase;
  int nth;
  Fault fault;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.phase << " call " << c.nth << ": "
      << (c.fault == Fault::kDies    ? "dies"
          : c.fault == Fault::kHangs ? "hangs"
                                     : "restarts");
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  const char* fault = info.param.fault == Fault::kDies    ? "dies"
                      : info.param.fault == Fault::kHangs ? "hangs"
                                                          : "restarts";
  return std::string(info.param.phase) + "_" + std::to_string(info.param.nth) + "_" + fault;
}

class FaultTest : public ::testing::TestWithParam<Case> {};

TEST_P(FaultTest, JobEqualsTheReferenceDespiteTheFault) {
  const Case c = GetParam();
  testing::TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 20000;
  gen.seed = 5;
  gen.distinct_values = 30;
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv(gen)));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(150000);  // ~13 splits over three workers

  auto healthy_a = worker::WorkerCore::Create({.threads = 1});
  auto healthy_b = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient a(healthy_a.get(), testing::TestExecutor(), "a"),
      b(healthy_b.get(), testing::TestExecutor(), "b");
  FaultyWorker faulty(c.phase, c.nth, c.fault);
  JobRunnerOptions options;
  options.cut_search.fetch_limit = 32;
  options.cut_search.score_bins = 8;
  options.export_page_bytes = 32 << 10;  // each split's results in a few pages
  auto run = testing::RunOnWorkers(spec, {&a, &faulty, &b}, options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(faulty.tripped()) << "the fault was never injected";
  EXPECT_GE(run->outcome.recoveries, 1);
  testing::ExpectSameAsReference(spec, *run);
}

INSTANTIATE_TEST_SUITE_P(
    EveryPhase, FaultTest,
    ::testing::Values(Case{"scan", 1, Fault::kDies}, Case{"scan", 1, Fault::kHangs},
                      Case{"load", 2, Fault::kDies}, Case{"load", 1, Fault::kHangs},
                      Case{"check_ids", 1, Fault::kDies}, Case{"check_ids", 1, Fault::kHangs},
                      Case{"check_ids", 1, Fault::kRestarts}, Case{"score", 1, Fault::kDies},
                      Case{"score", 1, Fault::kRestarts}, Case{"probe", 1, Fault::kDies},
                      Case{"probe", 3, Fault::kHangs}, Case{"probe", 2, Fault::kRestarts},
                      Case{"assign", 1, Fault::kDies}, Case{"assign", 1, Fault::kRestarts},
                      Case{"export", 2, Fault::kDies}, Case{"export", 1, Fault::kRestarts}),
    CaseName);

// With `duplicate_ids: keep_first`, splits are loaded again without their
// later repeats; a split rebuilt on another worker after that must skip the
// same rows.
class KeepFirstFaultTest : public ::testing::TestWithParam<Case> {};

TEST_P(KeepFirstFaultTest, JobEqualsTheReferenceDespiteTheFault) {
  const Case c = GetParam();
  testing::TempDir dir;
  const testing::DuplicateInputs data = testing::WriteDuplicateInputs(dir);
  v1::JobSpec spec;
  for (const std::string& in : data.inputs) spec.add_inputs(in);
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  spec.mutable_policy()->set_duplicate_ids(v1::DUPLICATE_IDS_KEEP_FIRST);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(150000);

  auto healthy = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient a(healthy.get(), testing::TestExecutor(), "a");
  FaultyWorker faulty(c.phase, c.nth, c.fault);
  auto run = testing::RunOnWorkers(spec, {&faulty, &a});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(faulty.tripped()) << "the fault was never injected";
  EXPECT_EQ(run->outcome.result.stats().duplicates_dropped(), data.extra_rows);
  testing::ExpectSameAsReference(spec, *run);
}

INSTANTIATE_TEST_SUITE_P(AfterTheReload, KeepFirstFaultTest,
                         ::testing::Values(Case{"check_ids", 1, Fault::kDies},
                                           Case{"score", 1, Fault::kDies},
                                           Case{"score", 1, Fault::kRestarts},
                                           Case{"assign", 1, Fault::kDies}),
                         CaseName);

// The same with a previous run under the alias: a worker lost while reading
// it (assign) or while writing the new run (publish) must not change the
// previous tiers, the downgrade protection or the migration, nor leave
// records out of the published run.
class PriorRunFaultTest : public ::testing::TestWithParam<Case> {};

TEST_P(PriorRunFaultTest, PublishedRunEqualsTheReferenceGivenThePreviousRun) {
  const Case c = GetParam();
  testing::TempDir dir;
  common::MemoryStore store;
  v1::JobSpec spec;
  *spec.mutable_policy() = testing::PolicyFromYaml(std::string(kPolicy) + R"yaml(
    protection: {max_drop_per_run: 1, demote_after_runs: 2}
)yaml");
  spec.set_split_bytes(150000);
  spec.set_alias("customers/default");
  engine::GeneratorOptions gen;
  gen.rows = 20000;
  gen.seed = 5;
  const std::string first_input = dir.Write("first.csv", engine::GenerateCustomersCsv(gen));
  gen.rows = 19000;  // 1,000 lost, and new values (with ties) for the rest
  gen.seed = 6;
  gen.distinct_values = 30;
  const std::string second_input = dir.Write("second.csv", engine::GenerateCustomersCsv(gen));

  auto healthy_a = worker::WorkerCore::Create({.threads = 1, .store = &store});
  auto healthy_b = worker::WorkerCore::Create({.threads = 1, .store = &store});
  InProcessWorkerClient a(healthy_a.get(), testing::TestExecutor(), "a"),
      b(healthy_b.get(), testing::TestExecutor(), "b");
  JobRunnerOptions options;
  options.store = &store;
  spec.add_inputs(first_input);
  auto first = testing::RunOnWorkers(spec, {&a, &b}, options, "first");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->outcome.result.publication().published());

  FaultyWorker faulty(c.phase, c.nth, c.fault, &store);
  spec.set_inputs(0, second_input);
  auto second = testing::RunOnWorkers(spec, {&a, &faulty, &b}, options, "second");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(faulty.tripped()) << "the fault was never injected";
  const v1::Publication& pub = second->outcome.result.publication();
  ASSERT_TRUE(pub.published()) << pub.error();
  EXPECT_EQ(pub.previous_run(), "first");
  EXPECT_EQ(pub.records(), 19000);

  // The reference, given every record of the first run.
  common::RunStore runs(&store);
  engine::PriorRun prior;
  prior.meta = *runs.Run("first");
  std::vector<std::string> first_ids;
  for (const auto& [id, row] : first->rows) first_ids.push_back(id);
  auto first_records = runs.Lookup(prior.meta, first_ids);
  ASSERT_TRUE(first_records.ok());
  for (size_t i = 0; i < first_ids.size(); ++i) prior.records[first_ids[i]] = *(*first_records)[i];
  auto compiled = engine::CompileJob(spec.policy(), spec.kpis());
  auto ref = engine::RunReference(**compiled, {second_input}, &prior);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(testing::ResultDiff(second->outcome.result, ref->result), "");
  EXPECT_EQ(second->outcome.result.kpis().migration_size(), 2);
  EXPECT_GT(second->outcome.result.kpis().migration(1).held(), 0);  // top is protected

  auto published = runs.Lookup(*runs.Run("second"), ref->ids);
  ASSERT_TRUE(published.ok());
  for (size_t i = 0; i < ref->ids.size(); ++i) {
    const auto& r = (*published)[i];
    ASSERT_TRUE(r.has_value()) << ref->ids[i];
    for (int s = 0; s < 2; ++s) {
      const size_t k = static_cast<size_t>(s);
      ASSERT_EQ(r->tiers(s), ref->tiers[k][i]) << ref->ids[i];
      ASSERT_EQ(r->earned_tiers(s), ref->earned_tiers[k][i]) << ref->ids[i];
      ASSERT_EQ(r->previous_tiers(s), ref->previous_tiers[k][i]) << ref->ids[i];
      ASSERT_EQ(r->runs_below(s), ref->runs_below[k][i]) << ref->ids[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AssignAndPublish, PriorRunFaultTest,
                         ::testing::Values(Case{"assign", 1, Fault::kDies},
                                           Case{"assign", 1, Fault::kRestarts},
                                           Case{"publish", 1, Fault::kDies},
                                           Case{"publish", 1, Fault::kRestarts}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.phase) + "_" +
                                  (info.param.fault == Fault::kDies ? "dies" : "restarts");
                         });

// A worker whose first Publish call is given up on (DEADLINE_EXCEEDED at
// once), but which keeps the request to answer it later, as a worker that
// was only slow would. It keeps the job too (Release is not passed on).
class LatePublisher : public testing::WorkerDecorator<LatePublisher> {
 public:
  explicit LatePublisher(common::Store* store)
      : core_(worker::WorkerCore::Create({.threads = 1, .store = store})),
        client_(core_.get(), testing::TestExecutor(), "late") {}

  std::string name() const override { return "late"; }

  template <typename Request, typename Response, typename Forward>
  void Route(const std::string& phase, Request r, const CallOptions& o, Reply<Response> done,
             Forward forward) {
    if (phase == "release") {
      done(Response());
      return;
    }
    if constexpr (std::is_same_v<Request, v1::PublishRequest>) {
      absl::MutexLock lock(&mu_);
      if (!held_.has_value()) {
        held_ = std::move(r);
        done(absl::DeadlineExceededError("deadline exceeded"));
        return;
      }
    }
    forward(client_, std::move(r), o, std::move(done));
  }

  // Answers the call given up on, now.
  absl::StatusOr<v1::PublishResponse> PublishLate() {
    absl::MutexLock lock(&mu_);
    if (!held_.has_value()) return absl::FailedPreconditionError("no publish call was held");
    return core_->Publish(*held_);
  }

 private:
  std::unique_ptr<worker::WorkerCore> core_;
  InProcessWorkerClient client_;
  absl::Mutex mu_;
  std::optional<v1::PublishRequest> held_ ABSL_GUARDED_BY(mu_);
};

// The published run's records are final: a write of the attempt that
// arrives after the switch neither changes them nor gives them a time to
// live (they would vanish a day later).
TEST(FaultTest, APublishAnsweredAfterThePublicationCannotTouchThePublishedRun) {
  testing::TempDir dir;
  std::atomic<int64_t> hours_later{0};
  common::MemoryStore store([&] { return absl::Now() + absl::Hours(hours_later.load()); });
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 20000, .seed = 3})));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  spec.set_split_bytes(150000);
  spec.set_alias("customers/default");
  auto healthy = worker::WorkerCore::Create({.threads = 1, .store = &store});
  InProcessWorkerClient a(healthy.get(), testing::TestExecutor(), "a");
  LatePublisher late(&store);
  JobRunnerOptions options;
  options.store = &store;
  auto run = testing::RunOnWorkers(spec, {&late, &a}, options, "run1");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->outcome.result.publication().published())
      << run->outcome.result.publication().error();

  auto answered = late.PublishLate();
  EXPECT_TRUE(answered.ok()) << answered.status();  // into the attempt's keys, which expire
  hours_later = 25;                                 // past the unpublished time to live
  common::RunStore runs(&store);
  std::vector<std::string> ids;
  for (const auto& [id, row] : run->rows) ids.push_back(id);
  ASSERT_EQ(ids.size(), 20000u);
  auto records = runs.Lookup(*runs.Current("customers/default"), ids);
  ASSERT_TRUE(records.ok()) << records.status();
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_TRUE((*records)[i].has_value()) << ids[i];
}

// Passes calls to `inner` (borrowed), noting the writer Publish calls carry.
class WriterSpy : public testing::WorkerDecorator<WriterSpy> {
 public:
  explicit WriterSpy(WorkerClient* inner) : inner_(inner) {}
  std::string name() const override { return inner_->name(); }

  template <typename Request, typename Response, typename Forward>
  void Route(const std::string&, Request r, const CallOptions& o, Reply<Response> done,
             Forward forward) {
    if constexpr (std::is_same_v<Request, v1::PublishRequest>) {
      absl::MutexLock lock(&mu_);
      writer_ = r.writer();
    }
    forward(*inner_, std::move(r), o, std::move(done));
  }

  std::string writer() {
    absl::MutexLock lock(&mu_);
    return writer_;
  }

 private:
  WorkerClient* const inner_;
  absl::Mutex mu_;
  std::string writer_ ABSL_GUARDED_BY(mu_);
};

// A worker that dies on its first Publish call (and every call after) until
// the test restarts it: then it answers again, knowing nothing.
class DiesInPublish : public testing::WorkerDecorator<DiesInPublish> {
 public:
  explicit DiesInPublish(common::Store* store) : store_(store) { Restart(); }
  std::string name() const override { return "dies-in-publish"; }

  template <typename Request, typename Response, typename Forward>
  void Route(const std::string& phase, Request r, const CallOptions& o, Reply<Response> done,
             Forward forward) {
    WorkerClient* target;
    {
      absl::MutexLock lock(&mu_);
      if (phase == "publish" && !restarted_) dead_ = true;
      target = dead_ ? nullptr : client_.get();
    }
    if (target == nullptr) return done(absl::UnavailableError("connection refused"));
    forward(*target, std::move(r), o, std::move(done));
  }

  void Restart() {
    absl::MutexLock lock(&mu_);
    if (core_ != nullptr) restarted_ = true;
    dead_ = false;
    client_.reset();
    core_ = worker::WorkerCore::Create({.threads = 1, .store = store_});
    client_ = std::make_unique<InProcessWorkerClient>(core_.get(), testing::TestExecutor(), "d");
  }

 private:
  common::Store* const store_;
  absl::Mutex mu_;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;
  bool restarted_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<worker::WorkerCore> core_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<InProcessWorkerClient> client_ ABSL_GUARDED_BY(mu_);
};

// Every worker lost while publishing, then restarted empty: publishing again
// must rebuild the splits and publish the whole run (it once switched the
// alias to a run of no records).
TEST(FaultTest, PublishingAgainAfterEveryWorkerWasLostPublishesTheWholeRun) {
  testing::TempDir dir;
  common::MemoryStore store;
  v1::JobSpec spec;
  const std::string input =
      dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 20000, .seed = 8}));
  spec.add_inputs(input);
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  spec.set_split_bytes(150000);
  spec.set_alias("customers/default");
  DiesInPublish one(&store), two(&store);
  JobRunnerOptions options;
  options.store = &store;
  auto runner = JobRunner::Create({&one, &two}, options);
  ASSERT_TRUE(runner.ok());
  auto outcome = (*runner)->Run("again", spec);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_FALSE(outcome->result.publication().published());
  EXPECT_THAT(outcome->result.publication().error(), ::testing::HasSubstr("workers are gone"));

  one.Restart();
  two.Restart();
  ASSERT_TRUE((*runner)->Republish(*outcome).ok());
  const v1::Publication& pub = outcome->result.publication();
  ASSERT_TRUE(pub.published()) << pub.error();
  EXPECT_EQ(pub.records(), 20000);
  auto compiled = engine::CompileJob(spec.policy(), spec.kpis());
  auto ref = engine::RunReference(**compiled, {input});
  ASSERT_TRUE(ref.ok()) << ref.status();
  common::RunStore runs(&store);
  auto records = runs.Lookup(*runs.Current("customers/default"), ref->ids);
  ASSERT_TRUE(records.ok()) << records.status();
  for (size_t i = 0; i < ref->ids.size(); ++i) {
    ASSERT_TRUE((*records)[i].has_value()) << ref->ids[i];
    for (int s = 0; s < 2; ++s) {
      ASSERT_EQ((*records)[i]->tiers(s), ref->tiers[static_cast<size_t>(s)][i]) << ref->ids[i];
    }
  }
  std::string exported;
  ASSERT_TRUE((*runner)
                  ->ExportResults(*outcome, false,
                                  [&](const std::string& csv) {
                                    exported += csv;
                                    return absl::OkStatus();
                                  })
                  .ok());
  EXPECT_EQ(std::count(exported.begin(), exported.end(), '\n'), 20000);
}

// A job cancelled while its run is being written leaves nothing of it in
// the store (not a day of orphaned records per cancelled job).
TEST(FaultTest, AJobCancelledWhilePublishingLeavesNoRecords) {
  testing::TempDir dir;
  common::MemoryStore store;
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 20000, .seed = 4})));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  spec.set_split_bytes(150000);
  spec.set_alias("customers/default");
  auto core = worker::WorkerCore::Create({.threads = 1, .store = &store});
  InProcessWorkerClient inner(core.get(), testing::TestExecutor(), "a");
  testing::GatedWorker gated(&inner, {"publish"});
  WriterSpy spy(&gated);
  JobRunnerOptions options;
  options.store = &store;
  CancelScope cancel;
  absl::StatusOr<testing::ClusterRun> run;
  std::thread job([&] {
    run = testing::RunOnWorkers(spec, {&spy}, options, "cancelled", nullptr, {.cancel = &cancel});
  });
  ASSERT_TRUE(gated.WaitHeld(1));  // records of at least one split are written
  // Records in the attempt's keys or the run's.
  auto records = [&] {
    std::vector<std::string> keys;
    for (int b = 0; b < common::RunStore::BucketCount(20000); ++b) {
      keys.push_back(absl::StrCat("run:cancelled:w:", spy.writer(), ":b:", b));
      keys.push_back(absl::StrCat("run:cancelled:b:", b));
    }
    auto held = store.HashGetAllMany(keys);
    size_t n = 0;
    for (const auto& fields : *held) n += fields.size();
    return n;
  };
  EXPECT_GT(records(), 0u);
  cancel.Cancel();
  job.join();
  EXPECT_EQ(run.status().code(), absl::StatusCode::kCancelled) << run.status();  // not SUCCEEDED
  EXPECT_EQ(records(), 0u);
  EXPECT_EQ(*store.Get("alias:customers/default"), std::nullopt);
}

// Passes calls to `inner` (borrowed), but its Export replies after the
// first page name a next page that does not move forward: the export must
// fail, not loop.
class StuckPager : public testing::WorkerDecorator<StuckPager> {
 public:
  explicit StuckPager(WorkerClient* inner) : inner_(inner) {}
  std::string name() const override { return "stuck"; }

  template <typename Request, typename Response, typename Forward>
  void Route(const std::string&, Request r, const CallOptions& o, Reply<Response> done,
             Forward forward) {
    if constexpr (std::is_same_v<Request, v1::ExportRequest>) {
      const int64_t first_row = r.first_row();
      forward(*inner_, std::move(r), o,
              [first_row, done = std::move(done)](absl::StatusOr<Response> page) mutable {
                if (page.ok() && first_row > 0) page->set_next_row(first_row);
                done(std::move(page));
              });
      return;
    }
    forward(*inner_, std::move(r), o, std::move(done));
  }

 private:
  WorkerClient* const inner_;
};

TEST(FaultTest, AnExportPageThatDoesNotMoveOnFailsTheExport) {
  testing::TempDir dir;
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 2000})));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient inner(core.get(), testing::TestExecutor(), "a");
  StuckPager stuck(&inner);
  JobRunnerOptions options;
  options.export_page_bytes = 1000;
  auto run = testing::RunOnWorkers(spec, {&stuck}, options);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInternal) << run.status();
  EXPECT_THAT(run.status().message(), ::testing::HasSubstr("as the next"));
}

TEST(FaultTest, AllWorkersGoneIsUnavailable) {
  testing::TempDir dir;
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 2000})));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  spec.set_split_bytes(20000);
  FaultyWorker one("score", 1, Fault::kDies), two("load", 3, Fault::kDies);
  auto run = testing::RunOnWorkers(spec, {&one, &two});
  EXPECT_EQ(run.status().code(), absl::StatusCode::kUnavailable) << run.status();
  EXPECT_THAT(run.status().message(), ::testing::HasSubstr("all 2 workers are gone"));
}

}  // namespace
}  // namespace tierscore::coordinator

// The asynchronous fan-out: replies that arrive when and in the order a test
// decides, a slow worker holding back one phase, cancellation of calls in
// flight, and a thread count that does not grow with the number of workers.
#include "coordinator/fan_out.h"

#include <dirent.h>

#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/in_process_worker_client.h"
#include "coordinator/job_runner.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/worker_fakes.h"

namespace tierscore::coordinator {
namespace {

using testing::GatedWorker;

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: max, weight: 0.6, direction: higher}
  - {name: recency, expr: days_since_last_order, normalize: percentile, weight: 0.4, direction: lower}
tiers:
  - {name: ladder, pareto: {boundaries: [0.5, 0.8, 0.95], names: [A, B, C, D]}}
  - {name: top, quantile: {boundaries: [0.1], names: [Top, Rest]}}
)yaml";

// A base with ties (few distinct values) and zeros, split into many pieces.
v1::JobSpec Spec(const testing::TempDir& dir, int rows, int64_t split_bytes) {
  engine::GeneratorOptions gen;
  gen.rows = rows;
  gen.seed = 11;
  gen.distinct_values = 40;
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv(gen)));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  spec.set_split_bytes(split_bytes);
  return spec;
}

// Threads of this process, now.
int ThreadCount() {
  int n = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.' ? 1 : 0;
  closedir(dir);
  return n;
}

// Three in-process workers, each behind a GatedWorker holding the phases
// `gated(i)` names.
struct GatedCluster {
  explicit GatedCluster(const std::function<std::vector<std::string>(int)>& gated) {
    for (int i = 0; i < 3; ++i) {
      cores.push_back(worker::WorkerCore::Create({.threads = 1}));
      inner.push_back(std::make_unique<InProcessWorkerClient>(
          cores.back().get(), testing::TestExecutor(), "w" + std::to_string(i)));
      workers.push_back(std::make_unique<GatedWorker>(inner.back().get(), gated(i)));
      seams.push_back(workers.back().get());
    }
  }
  std::vector<std::unique_ptr<worker::WorkerCore>> cores;
  std::vector<std::unique_ptr<InProcessWorkerClient>> inner;
  std::vector<std::unique_ptr<GatedWorker>> workers;
  std::vector<WorkerClient*> seams;
};

TEST(FanOutTest, RespectsLimitsAndHandlesRepliesOnTheCallingThread) {
  testing::EchoWorker echo;
  GatedWorker a(&echo, {"scan"}), b(&echo, {"scan"});
  std::vector<WorkerClient*> workers{&a, &b};
  FanOut fan(workers, FanOut::Limits{2, 3}, CallPolicy{});
  std::vector<int> handled;
  const std::thread::id me = std::this_thread::get_id();
  bool all_here = true;
  for (int i = 0; i < 12; ++i) {
    fan.Call<v1::ScanRequest, v1::ScanResponse>(
        static_cast<size_t>(i % 2), &WorkerClient::Scan, v1::ScanRequest(),
        [&, i](const absl::StatusOr<v1::ScanResponse>& r) {
          EXPECT_TRUE(r.ok());
          all_here = all_here && std::this_thread::get_id() == me;
          handled.push_back(i);
        });
  }
  std::atomic<size_t> most_held{0};
  std::atomic<bool> over_limit{false};
  std::thread releaser([&] {
    std::mt19937 rng(3);
    for (int released = 0; released < 12;) {
      absl::SleepFor(absl::Milliseconds(20));  // the fan-out starts what it may
      const size_t ha = a.held(), hb = b.held();
      most_held = std::max(most_held.load(), ha + hb);
      if (ha > 2 || hb > 2 || ha + hb > 3) over_limit = true;
      if (ha + hb == 0) continue;
      GatedWorker& g = (ha > 0 && (hb == 0 || rng() % 2 == 0)) ? a : b;
      const size_t n = g.held();
      if (n > 0 && g.ReleaseHeld(rng() % n)) ++released;  // out of order
    }
  });
  EXPECT_TRUE(fan.Run().ok());
  releaser.join();
  EXPECT_FALSE(over_limit) << "more calls in flight than the limits allow";
  EXPECT_EQ(most_held.load(), 3u) << "the fan-out never reached its total limit";
  EXPECT_TRUE(all_here) << "a handler ran off the calling thread";
  EXPECT_EQ(handled.size(), 12u);
}

TEST(FanOutTest, ForgetDropsQueuedCallsAndAbortCancelsThoseInFlight) {
  testing::EchoWorker echo;
  GatedWorker a(&echo, {"scan"});
  std::vector<WorkerClient*> workers{&a};
  FanOut fan(workers, FanOut::Limits{1, 8}, CallPolicy{});
  int handled = 0;
  for (int i = 0; i < 5; ++i) {
    fan.Call<v1::ScanRequest, v1::ScanResponse>(
        0, &WorkerClient::Scan, v1::ScanRequest(), [&](const absl::StatusOr<v1::ScanResponse>& r) {
          ++handled;
          EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
          fan.Forget(0);
        });
  }
  std::thread aborter([&] {
    ASSERT_TRUE(a.WaitHeld(1));
    fan.Abort();  // from another thread, as a job's cancellation would
  });
  EXPECT_EQ(fan.Run().code(), absl::StatusCode::kCancelled);
  aborter.join();
  EXPECT_EQ(handled, 1);  // the rest were never started
  EXPECT_EQ(a.started(), 1);
}

// Every reply of every phase held, and released one at a time, in random
// order across workers and within each worker: the result must equal the
// single-process reference.
TEST(AsyncJobTest, RepliesReleasedOutOfOrderGiveTheReferenceResult) {
  testing::TempDir dir;
  const v1::JobSpec spec = Spec(dir, 12000, 40000);  // ~30 splits
  GatedCluster cluster([](int) {
    return std::vector<std::string>{"scan", "load", "score", "probe", "assign", "export"};
  });
  auto& gated = cluster.workers;
  std::atomic<bool> finished{false};
  std::atomic<int> released{0}, out_of_order{0};
  std::atomic<size_t> most_held{0};
  std::thread releaser([&] {
    std::mt19937 rng(7);
    while (!finished) {
      std::vector<GatedWorker*> holding;
      size_t total = 0;
      for (auto& g : gated) {
        const size_t h = g->held();
        total += h;
        if (h > 0) holding.push_back(g.get());
      }
      most_held = std::max(most_held.load(), total);
      if (holding.empty() || (total < 2 && released % 3 != 0)) {
        absl::SleepFor(absl::Microseconds(300));  // let more replies pile up
        if (holding.empty()) continue;
      }
      GatedWorker* g = holding[rng() % holding.size()];
      const size_t n = g->held();
      if (n == 0) continue;
      const size_t pick = rng() % n;
      if (g->ReleaseHeld(pick)) {
        ++released;
        if (pick != 0) ++out_of_order;
      }
    }
  });
  JobRunnerOptions options;
  options.cut_search.fetch_limit = 32;
  options.cut_search.score_bins = 8;
  auto run = testing::RunOnWorkers(spec, cluster.seams, options);
  finished = true;
  releaser.join();
  ASSERT_TRUE(run.ok()) << run.status();
  testing::ExpectSameAsReference(spec, *run);
  EXPECT_GT(out_of_order.load(), 0) << "no reply was released out of order";
  EXPECT_GE(most_held.load(), 3u) << "calls never overlapped";
}

// One worker holds back its Score reply: the others finish theirs, and the
// job waits at the phase barrier without starting the next phase.
TEST(AsyncJobTest, ASlowWorkerHoldsBackOnlyItsPhase) {
  testing::TempDir dir;
  const v1::JobSpec spec = Spec(dir, 9000, 40000);
  GatedCluster cluster([](int i) {
    return i == 2 ? std::vector<std::string>{"score"} : std::vector<std::string>{};
  });
  auto& workers = cluster.workers;
  absl::StatusOr<testing::ClusterRun> run = absl::UnknownError("not run");
  std::thread job([&] { run = testing::RunOnWorkers(spec, cluster.seams); });
  GatedWorker& slow = *workers[2];
  ASSERT_TRUE(slow.WaitHeld(1));
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while ((workers[0]->replies("score") < 1 || workers[1]->replies("score") < 1) &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_EQ(workers[0]->replies("score"), 1);
  EXPECT_EQ(workers[1]->replies("score"), 1);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(workers[0]->replies("probe"), 0) << "the next phase started before the slow reply";
  EXPECT_EQ(slow.replies("score"), 0);
  slow.Open();
  job.join();
  ASSERT_TRUE(run.ok()) << run.status();
  testing::ExpectSameAsReference(spec, *run);
}

// A cancel that arrives while every worker has a call in flight ends the
// job promptly, without any of those replies being released.
TEST(AsyncJobTest, CancelReachesCallsInFlight) {
  testing::TempDir dir;
  const v1::JobSpec spec = Spec(dir, 6000, 40000);
  GatedCluster cluster([](int) { return std::vector<std::string>{"assign"}; });
  auto& workers = cluster.workers;
  JobRunnerOptions options;
  options.call_timeout = absl::Minutes(10);  // no timeout comes to the rescue
  auto runner = JobRunner::Create(cluster.seams, options);
  ASSERT_TRUE(runner.ok());
  CancelScope cancel;
  absl::StatusOr<JobOutcome> outcome = absl::UnknownError("not run");
  absl::Time ended;
  std::thread job([&] {
    outcome = (*runner)->Run("cancelled", spec, nullptr, RunControl{&cancel});
    ended = absl::Now();
  });
  for (auto& w : workers) ASSERT_TRUE(w->WaitHeld(1));
  const absl::Time cancelled_at = absl::Now();
  cancel.Cancel();
  job.join();
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kCancelled) << outcome.status();
  EXPECT_LT(ended - cancelled_at, absl::Seconds(5));
  for (auto& w : workers) EXPECT_EQ(w->held(), 0u);  // cancelled, not released
  (*runner)->Release("cancelled");
  for (auto& core : cluster.cores) EXPECT_EQ(core->JobCount(), 0u);
}

// The job's deadline ends it with calls in flight, whatever the transport
// does about deadlines (this fake holds its replies forever).
TEST(AsyncJobTest, JobDeadlineReachesCallsInFlight) {
  testing::TempDir dir;
  const v1::JobSpec spec = Spec(dir, 6000, 40000);
  auto core = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient inner(core.get(), testing::TestExecutor(), "w");
  GatedWorker held(&inner, {"score"});
  JobRunnerOptions options;
  options.call_timeout = absl::Minutes(10);
  auto runner = JobRunner::Create({&held}, options);
  ASSERT_TRUE(runner.ok());
  const absl::Time start = absl::Now();
  auto outcome =
      (*runner)->Run("late", spec, nullptr, RunControl{nullptr, start + absl::Seconds(1)});
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kDeadlineExceeded) << outcome.status();
  EXPECT_THAT(std::string(outcome.status().message()), ::testing::HasSubstr("deadline"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
  EXPECT_EQ(held.held(), 0u);  // cancelled, not released
  (*runner)->Release("late");
  EXPECT_EQ(core->JobCount(), 0u);
}

// The most threads this process had while a job ran on `n` workers that
// share one core and one executor (so that only the coordinator's side
// could add threads per worker).
int PeakThreadsDuringJob(const v1::JobSpec& spec, int n, worker::WorkerCore* core) {
  std::vector<std::unique_ptr<InProcessWorkerClient>> clients;
  std::vector<WorkerClient*> seams;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<InProcessWorkerClient>(core, testing::TestExecutor(),
                                                              "w" + std::to_string(i)));
    seams.push_back(clients.back().get());
  }
  std::atomic<bool> done{false};
  std::atomic<int> peak{0};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max(peak.load(), ThreadCount());
      absl::SleepFor(absl::Microseconds(200));
    }
  });
  auto run = testing::RunOnWorkers(spec, seams);
  done = true;
  sampler.join();
  EXPECT_TRUE(run.ok()) << run.status();
  if (run.ok()) testing::ExpectSameAsReference(spec, *run);
  return peak.load();
}

TEST(AsyncJobTest, ThreadCountDoesNotGrowWithTheNumberOfWorkers) {
  testing::TempDir dir;
  const v1::JobSpec spec = Spec(dir, 20000, 20000);  // ~100 splits: every worker gets some
  auto core = worker::WorkerCore::Create({.threads = 2});
  const int with_two = PeakThreadsDuringJob(spec, 2, core.get());
  const int with_64 = PeakThreadsDuringJob(spec, 64, core.get());
  ASSERT_GT(with_two, 0);
  EXPECT_LE(with_64, with_two + 1)
      << "2 workers: " << with_two << " threads, 64 workers: " << with_64;
}

}  // namespace
}  // namespace tierscore::coordinator

#ifndef TIERSCORE_TESTS_TESTING_JOB_HARNESS_H_
#define TIERSCORE_TESTS_TESTING_JOB_HARNESS_H_

#include <charconv>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "coordinator/in_process_worker_client.h"
#include "coordinator/job_runner.h"
#include "engine/reference.h"
#include "engine/thread_pool.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/yaml.h"
#include "worker/worker_core.h"

namespace tierscore::testing {

// One customer's line of the results CSV.
struct ResultRow {
  double score = 0;
  std::vector<std::string> tiers;
};

struct ClusterRun {
  coordinator::JobOutcome outcome;
  std::map<std::string, ResultRow> rows;  // by customer id
};

// The executor in-process workers of tests run their calls on (shared, so
// that tests with many workers do not start threads per worker).
inline engine::ThreadPool* TestExecutor() {
  static auto* executor = new engine::ThreadPool(8);
  return executor;
}

// Runs a job through the phased job code on the given workers, exports the
// per-customer results and parses them back.
inline absl::StatusOr<ClusterRun> RunOnWorkers(const v1::JobSpec& spec,
                                               std::vector<coordinator::WorkerClient*> workers,
                                               coordinator::JobRunnerOptions options = {},
                                               const std::string& job_id = "test-job",
                                               const coordinator::ProgressFn& progress = nullptr,
                                               const coordinator::RunControl& control = {}) {
  if (options.load_calls_per_worker <= 0) options.load_calls_per_worker = 2;
  auto runner = coordinator::JobRunner::Create(std::move(workers), options);
  if (!runner.ok()) return runner.status();
  ClusterRun run;
  auto outcome = (*runner)->Run(job_id, spec, progress, control);
  if (!outcome.ok()) return outcome.status();
  run.outcome = *std::move(outcome);
  std::string csv;
  absl::Status st =
      (*runner)->ExportResults(run.outcome, /*explain=*/true, [&](const std::string& chunk) {
        csv += chunk;
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  const size_t schemes = run.outcome.compiled->policy.schemes.size();
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    ResultRow row;
    std::from_chars(f[1].data(), f[1].data() + f[1].size(), row.score);
    row.tiers.assign(f.begin() + 2, f.begin() + 2 + static_cast<long>(schemes));
    run.rows[f[0]] = row;
  }
  (*runner)->Release(job_id);
  return run;
}

// The same on `workers` in-process workers (each with its own threads);
// also checks that every worker freed the job.
inline absl::StatusOr<ClusterRun> RunCluster(const v1::JobSpec& spec, int workers,
                                             coordinator::JobRunnerOptions options = {}) {
  std::vector<std::unique_ptr<worker::WorkerCore>> cores;
  std::vector<std::unique_ptr<coordinator::InProcessWorkerClient>> clients;
  std::vector<coordinator::WorkerClient*> seams;
  for (int i = 0; i < workers; ++i) {
    cores.push_back(worker::WorkerCore::Create({.threads = 2}));
    clients.push_back(std::make_unique<coordinator::InProcessWorkerClient>(
        cores.back().get(), TestExecutor(), "w" + std::to_string(i)));
    seams.push_back(clients.back().get());
  }
  auto run = RunOnWorkers(spec, seams, options);
  if (!run.ok()) return run;
  for (const auto& core : cores) {
    if (core->JobCount() != 0) return absl::InternalError("worker kept the job after Release");
  }
  return run;
}

// Differences between two job results, exact to the bit ("" when equal).
// NaN equals NaN here: an undefined metric must be undefined in both.
inline std::string ResultDiff(v1::JobResult got, v1::JobResult want) {
  got.clear_stats();  // how it ran, not what it answered
  want.clear_stats();
  got.clear_publication();
  want.clear_publication();
  if (got.SerializeAsString() == want.SerializeAsString()) return "";
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  d.Compare(got, want);
  return diff.empty() ? "equal by value but not bitwise: signed zeros or NaN payloads" : diff;
}

// Asserts that the cluster run equals the reference: every customer's score
// and tiers, the tier summaries, and the KPI table, exactly.
inline void ExpectSameAsReference(const v1::JobSpec& spec, const ClusterRun& run) {
  auto job = engine::CompileJob(spec.policy(), spec.kpis());
  ASSERT_TRUE(job.ok()) << job.status();
  auto ref = engine::RunReference(**job, {spec.inputs().begin(), spec.inputs().end()});
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(run.rows.size(), ref->ids.size());
  const auto& schemes = (*job)->policy.schemes;
  for (size_t i = 0; i < ref->ids.size(); ++i) {
    auto it = run.rows.find(ref->ids[i]);
    ASSERT_NE(it, run.rows.end()) << ref->ids[i];
    ASSERT_EQ(it->second.score, ref->scores[i]) << ref->ids[i];
    for (size_t s = 0; s < schemes.size(); ++s) {
      ASSERT_EQ(it->second.tiers[s], schemes[s].names[static_cast<size_t>(ref->tiers[s][i])])
          << "customer " << ref->ids[i] << " scheme " << schemes[s].name;
    }
  }
  EXPECT_EQ(ResultDiff(run.outcome.result, ref->result), "");
}

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_JOB_HARNESS_H_

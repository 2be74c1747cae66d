#include "coordinator/job_runner.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <numeric>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/defaults.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/run_store.h"
#include "common/status_macros.h"
#include "engine/csv.h"
#include "engine/duplicates.h"
#include "engine/kpi.h"
#include "engine/position.h"
#include "engine/scoring.h"
#include "engine/standing.h"
#include "engine/tiering.h"
#include "worker/wire.h"

namespace tierscore::coordinator {
namespace {

using engine::int128;

void MergeResults(std::vector<v1::ProbeResult>& into, v1::ProbeResponse&& from) {
  if (into.empty()) {
    into.assign(std::make_move_iterator(from.mutable_results()->begin()),
                std::make_move_iterator(from.mutable_results()->end()));
    return;
  }
  for (size_t p = 0; p < into.size() && static_cast<int>(p) < from.results_size(); ++p) {
    v1::ProbeResult& a = into[p];
    v1::ProbeResult& b = *from.mutable_results(static_cast<int>(p));
    for (int k = 0; k < a.buckets_size() && k < b.buckets_size(); ++k) {
      v1::Bucket& x = *a.mutable_buckets(k);
      const v1::Bucket& y = b.buckets(k);
      if (y.count() == 0) continue;
      if (x.count() == 0) {
        x.set_min_score(y.min_score());
        x.set_max_score(y.max_score());
      } else {
        x.set_min_score(std::min(x.min_score(), y.min_score()));
        x.set_max_score(std::max(x.max_score(), y.max_score()));
      }
      x.set_count(x.count() + y.count());
      engine::ToProto(engine::FromProto(x.value()) + engine::FromProto(y.value()),
                      x.mutable_value());
    }
    for (auto& id : *b.mutable_sample()) a.add_sample(std::move(id));
    for (auto& item : *b.mutable_items()) *a.add_items() = std::move(item);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobRunner>> JobRunner::Create(std::vector<WorkerClient*> workers,
                                                             const JobRunnerOptions& options) {
  if (workers.empty()) return absl::InvalidArgumentError("no workers");
  return std::unique_ptr<JobRunner>(new JobRunner(std::move(workers), options));
}

CallPolicy JobRunner::Calls(const RunControl& control, WorkerTraffic* traffic,
                            bool short_calls) const {
  CallPolicy policy;
  policy.call_timeout =
      short_calls ? std::min(options_.call_timeout, absl::Seconds(10)) : options_.call_timeout;
  policy.job_deadline = control.deadline;
  policy.cancel = control.cancel;
  policy.traffic = traffic;
  return policy;
}

int JobRunner::LoadCallsPerWorker() const {
  return options_.load_calls_per_worker > 0
             ? options_.load_calls_per_worker
             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// One running job. Owned and used by the thread that runs it (replies are
// handled on that thread too), so it needs no lock.
struct JobRunner::Job {
  Job(std::string id, const v1::JobSpec& spec, ProgressFn progress, const RunControl& ctl)
      : progress_fn(std::move(progress)), control(ctl) {
    outcome.job_id = std::move(id);
    outcome.spec = spec;
  }

  absl::Status CheckStopped() const {
    if (control.cancel != nullptr && control.cancel->cancelled()) {
      return absl::CancelledError(absl::StrCat("job ", outcome.job_id, " was cancelled"));
    }
    if (absl::Now() >= control.deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("job ", outcome.job_id, " did not finish before its deadline"));
    }
    return absl::OkStatus();
  }

  // Closes the running phase in the stats and reports the next one.
  absl::Status StartPhase(const std::string& name) {
    const absl::Time now = absl::Now();
    if (!progress.phase.empty()) {
      auto* phase = outcome.result.mutable_stats()->add_phases();
      phase->set_name(progress.phase);
      phase->set_seconds(absl::ToDoubleSeconds(now - phase_start));
    }
    phase_start = now;
    progress.phase = name;
    if (progress_fn) progress_fn(progress);
    return CheckStopped();
  }

  JobOutcome outcome;
  std::vector<int> merged;  // per split: the last Stage merged
  JobProgress progress;
  const ProgressFn progress_fn;
  const RunControl control;
  absl::Time phase_start;
};

absl::Status JobRunner::ScanOnLiveWorkers(
    Job& job, const std::vector<v1::ScanRequest>& requests,
    const std::function<absl::Status(size_t, const v1::ScanResponse&)>& take) {
  JobOutcome& outcome = job.outcome;
  std::vector<size_t> pending(requests.size());
  std::iota(pending.begin(), pending.end(), 0);
  while (!pending.empty()) {
    std::vector<size_t> live;
    for (size_t w = 0; w < workers_.size(); ++w) {
      if (outcome.alive[w]) live.push_back(w);
    }
    if (live.empty()) return absl::UnavailableError("no live worker left to scan the inputs");
    FanOut fan(workers_, Limits(1), Calls(job.control, outcome.traffic.get()));
    std::vector<absl::Status> taken(requests.size());              // take()'s verdicts
    std::vector<std::tuple<size_t, size_t, absl::Status>> failed;  // request, worker, error
    for (size_t r : pending) {
      const size_t w = live[r % live.size()];
      fan.Call<v1::ScanRequest, v1::ScanResponse>(w, &WorkerClient::Scan, requests[r],
                                                  [&, r, w](absl::StatusOr<v1::ScanResponse> resp) {
                                                    if (resp.ok()) {
                                                      taken[r] = take(r, *resp);
                                                    } else {
                                                      failed.emplace_back(r, w, resp.status());
                                                    }
                                                  });
    }
    const absl::Status ran = fan.Run();
    TS_RETURN_IF_ERROR(job.CheckStopped());
    TS_RETURN_IF_ERROR(ran);
    for (const absl::Status& st : taken) TS_RETURN_IF_ERROR(st);
    // A lost worker's scans go to another (scans are stateless); any other
    // error (a missing file) is final, the first by request.
    std::sort(failed.begin(), failed.end(),
              [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
    pending.clear();
    for (const auto& [r, w, st] : failed) {
      TS_RETURN_IF_ERROR(OnWorkerFailure(outcome, job.control, w, st));
      pending.push_back(r);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<engine::CsvHeader>> JobRunner::ScanHeaders(Job& job) {
  const v1::JobSpec& spec = job.outcome.spec;
  absl::flat_hash_set<std::string> seen;
  std::vector<v1::ScanRequest> requests;
  for (int f = 0; f < spec.inputs_size(); ++f) {
    if (!seen.insert(spec.inputs(f)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("inputs[", f, "]: ", spec.inputs(f), " is listed twice"));
    }
    requests.emplace_back().set_path(spec.inputs(f));
  }
  std::vector<engine::CsvHeader> headers(requests.size());
  TS_RETURN_IF_ERROR(ScanOnLiveWorkers(job, requests, [&](size_t f, const v1::ScanResponse& scan) {
    engine::CsvHeader& header = headers[f];
    header.columns.assign(scan.header().begin(), scan.header().end());
    header.data_begin = scan.header_end();
    header.file_size = scan.file_size();
    header.gzip = scan.gzip();
    return absl::OkStatus();
  }));
  // In input order, so that the first bad input is the one named.
  for (int f = 0; f < spec.inputs_size(); ++f) {
    TS_RETURN_IF_ERROR(engine::CheckHeader(*job.outcome.compiled, spec.inputs(f),
                                           headers[static_cast<size_t>(f)].columns));
  }
  return headers;
}

absl::StatusOr<std::vector<v1::Split>> JobRunner::AlignRanges(
    Job& job, const std::string& path, const engine::CsvHeader& header,
    const std::vector<engine::ByteRange>& ranges, int first_index) {
  // Contiguous groups of ranges are scanned on different workers at once.
  const size_t groups = std::min(workers_.size(), ranges.size());
  std::vector<v1::ScanRequest> requests(groups);
  for (size_t g = 0; g < groups; ++g) {
    requests[g].set_path(path);
    for (size_t i = ranges.size() * g / groups; i < ranges.size() * (g + 1) / groups; ++i) {
      worker::ToWire(ranges[i], requests[g].add_ranges());
    }
  }
  std::vector<engine::RangeScan> scans(ranges.size());
  TS_RETURN_IF_ERROR(ScanOnLiveWorkers(job, requests, [&](size_t g, const v1::ScanResponse& resp) {
    const size_t lo = ranges.size() * g / groups;
    const size_t hi = ranges.size() * (g + 1) / groups;
    if (resp.ranges_size() != static_cast<int>(hi - lo)) {
      return absl::InternalError("worker returned the wrong number of range scans");
    }
    for (size_t i = lo; i < hi; ++i) {
      scans[i] = worker::FromWire(resp.ranges(static_cast<int>(i - lo)));
    }
    return absl::OkStatus();
  }));
  std::vector<v1::Split> splits;
  TS_ASSIGN_OR_RETURN(const std::vector<engine::Split> aligned,
                      engine::AlignSplits(path, header, ranges, scans, first_index));
  for (const engine::Split& s : aligned) {
    worker::ToWire(s, &splits.emplace_back());
  }
  return splits;
}

absl::StatusOr<std::vector<v1::Split>> JobRunner::PlanSplits(Job& job) {
  const v1::JobSpec& spec = job.outcome.spec;
  if (spec.inputs_size() == 0) {
    return absl::InvalidArgumentError("inputs: at least one input file is required");
  }
  // Headers first: they validate the inputs and size the splits.
  TS_ASSIGN_OR_RETURN(std::vector<engine::CsvHeader> headers, ScanHeaders(job));
  int64_t splittable_bytes = 0;
  for (const engine::CsvHeader& h : headers) {
    if (!h.gzip) splittable_bytes += h.file_size - h.data_begin;
  }
  // By default, several splits per load lane so that every core stays busy
  // to the end; never smaller than 4 MiB nor larger than the configured size.
  int64_t split_bytes = spec.split_bytes();
  if (split_bytes <= 0) {
    const int64_t lanes = static_cast<int64_t>(workers_.size()) * LoadCallsPerWorker();
    split_bytes = std::clamp<int64_t>(splittable_bytes / (4 * lanes), int64_t{4} << 20,
                                      std::max<int64_t>(options_.split_bytes, int64_t{4} << 20));
  }

  int64_t planned = 0;
  for (const engine::CsvHeader& h : headers) {
    planned += h.gzip ? 1 : (h.file_size - h.data_begin + split_bytes - 1) / split_bytes;
  }
  if (planned > options_.max_splits) {
    return absl::InvalidArgumentError(
        absl::StrCat("split_bytes: ", split_bytes, " cuts the inputs (", splittable_bytes,
                     " bytes) into ", planned, " splits, more than the ", options_.max_splits,
                     " allowed (--max-splits); leave it 0 for the default"));
  }

  std::vector<v1::Split> splits;
  for (int f = 0; f < spec.inputs_size(); ++f) {
    const std::string& path = spec.inputs(f);
    const engine::CsvHeader& header = headers[static_cast<size_t>(f)];
    if (header.gzip) {
      v1::Split split;
      split.set_index(static_cast<int>(splits.size()));
      split.set_path(path);
      split.set_end(header.file_size);
      split.set_gzip(true);
      splits.push_back(std::move(split));
      continue;
    }
    const std::vector<engine::ByteRange> ranges = engine::RawRanges(header, split_bytes);
    if (ranges.empty()) continue;
    TS_ASSIGN_OR_RETURN(std::vector<v1::Split> aligned,
                        AlignRanges(job, path, header, ranges, static_cast<int>(splits.size())));
    for (v1::Split& s : aligned) splits.push_back(std::move(s));
  }
  return splits;
}

absl::StatusOr<JobOutcome> JobRunner::Run(const std::string& job_id, const v1::JobSpec& spec,
                                          const ProgressFn& progress, const RunControl& control) {
  Job job(job_id, spec, progress, control);
  JobOutcome& outcome = job.outcome;
  TS_ASSIGN_OR_RETURN(outcome.compiled, engine::CompileJob(spec.policy(), spec.kpis()));
  outcome.alive.assign(workers_.size(), true);

  TS_RETURN_IF_ERROR(job.StartPhase("plan"));
  TS_ASSIGN_OR_RETURN(outcome.splits, PlanSplits(job));
  PlaceSplits(outcome);
  job.merged.assign(outcome.splits.size(), kPlanned);
  job.progress.splits_total = static_cast<int>(outcome.splits.size());

  TS_RETURN_IF_ERROR(job.StartPhase("load"));
  TS_ASSIGN_OR_RETURN(std::vector<engine::CriterionStatsAcc> stats, Load(job));
  for (const engine::CriterionParams& p :
       engine::NormalizationParams(outcome.compiled->policy, stats)) {
    worker::ToWire(p, &outcome.params.emplace_back());
  }

  TS_RETURN_IF_ERROR(job.StartPhase("score"));
  TS_ASSIGN_OR_RETURN(ScoreTotals totals, Score(job));

  TS_RETURN_IF_ERROR(job.StartPhase("search"));
  TS_ASSIGN_OR_RETURN(std::vector<v1::CutKey> cuts, Search(job, totals));
  // Cuts come in scheme order, as many as each scheme's rule asked for.
  size_t t = 0;
  for (const engine::CompiledScheme& scheme : outcome.compiled->policy.schemes) {
    v1::SchemeCuts sc;
    for (int b = 0; b < scheme.CutCount(); ++b) *sc.add_cuts() = cuts[t++];
    outcome.cuts.push_back(std::move(sc));
  }

  if (options_.store != nullptr) TS_RETURN_IF_ERROR(Locate(job, totals));

  TS_RETURN_IF_ERROR(job.StartPhase("assign"));
  outcome.result.set_customers(totals.count);
  outcome.result.set_total_value(engine::MicrosToValue(totals.value));
  TS_RETURN_IF_ERROR(AssignAndPublish(job));

  v1::JobStats& stats_out = *outcome.result.mutable_stats();
  stats_out.set_splits(static_cast<int32_t>(outcome.splits.size()));
  stats_out.set_search_rounds(outcome.search.rounds);
  stats_out.set_search_items_fetched(outcome.search.items_fetched);
  stats_out.set_recoveries(outcome.recoveries);
  stats_out.set_bytes_to_workers(outcome.traffic->sent);
  stats_out.set_bytes_from_workers(outcome.traffic->received);
  job.StartPhase("done").IgnoreError();  // finished: too late to cancel
  stats_out.set_bytes(job.progress.bytes);
  return std::move(job.outcome);
}

void JobRunner::PlaceSplits(JobOutcome& outcome) {
  // Largest first onto the least loaded worker.
  auto size_of = [&](size_t i) { return outcome.splits[i].end() - outcome.splits[i].begin(); };
  std::vector<size_t> order(outcome.splits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return size_of(a) > size_of(b); });
  std::vector<int64_t> load(workers_.size(), 0);
  outcome.split_worker.assign(outcome.splits.size(), 0);
  for (size_t i : order) {
    const size_t w = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[w] += size_of(i);
    outcome.split_worker[i] = static_cast<int>(w);
  }
}

std::vector<int32_t> JobRunner::SplitsOn(const JobOutcome& outcome, size_t w) const {
  std::vector<int32_t> out;
  for (size_t i = 0; i < outcome.split_worker.size(); ++i) {
    if (static_cast<size_t>(outcome.split_worker[i]) == w) out.push_back(static_cast<int32_t>(i));
  }
  return out;
}

absl::Status JobRunner::OnWorkerFailure(JobOutcome& outcome, const RunControl& control, size_t w,
                                        const absl::Status& status) {
  // A job stopped from outside: the call's error is a consequence.
  if (control.cancel != nullptr && control.cancel->cancelled()) {
    return absl::CancelledError(absl::StrCat("job ", outcome.job_id, " was cancelled"));
  }
  if (absl::Now() >= control.deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("job ", outcome.job_id, " did not finish before its deadline"));
  }
  const bool lost = absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
  const bool forgot = absl::IsFailedPrecondition(status);
  if (!lost && !forgot) return status;  // bad input or a bug: final
  // Each recovery loses at most one worker or reloads one worker's splits;
  // more than this means the same failure keeps coming back.
  const int limit = 4 * static_cast<int>(workers_.size()) + 4;
  if (++outcome.recoveries > limit) {
    return absl::Status(status.code(), absl::StrCat("giving up after ", limit,
                                                    " recoveries; last: ", workers_[w]->name(),
                                                    ": ", status.message()));
  }
  if (lost) outcome.alive[w] = false;
  common::LogEvent(
      spdlog::level::warn, lost ? "job.worker_lost" : "job.worker_restarted",
      {{"job", outcome.job_id}, {"worker", workers_[w]->name()}, {"error", status.message()}});
  if (std::none_of(outcome.alive.begin(), outcome.alive.end(), [](bool a) { return a; })) {
    return absl::UnavailableError(absl::StrCat("all ", workers_.size(), " workers are gone; last: ",
                                               workers_[w]->name(), ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status JobRunner::Replay(JobOutcome& outcome, const RunControl& control, int32_t s,
                               int stage) {
  WorkerClient& worker =
      *workers_[static_cast<size_t>(outcome.split_worker[static_cast<size_t>(s)])];
  const CallPolicy calls = Calls(control, outcome.traffic.get());
  auto call = [&](auto method, auto request) {
    const int64_t sent = static_cast<int64_t>(request.ByteSizeLong());
    auto reply = CallAndWait(worker, method, std::move(request),
                             CallOptions{calls.Deadline(), control.cancel});
    outcome.traffic->sent += sent;
    if (reply.ok()) outcome.traffic->received += static_cast<int64_t>(reply->ByteSizeLong());
    return reply.status();
  };
  v1::LoadRequest load;
  load.set_job_id(outcome.job_id);
  *load.mutable_spec() = outcome.spec;
  *load.add_splits() = outcome.splits[static_cast<size_t>(s)];
  TS_RETURN_IF_ERROR(call(&WorkerClient::Load, std::move(load)));
  if (stage >= kScored) {
    v1::ScoreRequest score;
    score.set_job_id(outcome.job_id);
    score.add_splits(s);
    for (const auto& p : outcome.params) *score.add_criteria() = p;
    TS_RETURN_IF_ERROR(call(&WorkerClient::Score, std::move(score)));
  }
  if (stage >= kAssigned) {
    v1::AssignRequest assign = AssignTemplate(outcome);
    assign.add_splits(s);
    TS_RETURN_IF_ERROR(call(&WorkerClient::Assign, std::move(assign)));
  }
  return absl::OkStatus();
}

absl::Status JobRunner::Rebuild(JobOutcome& outcome, const RunControl& control, size_t w,
                                const std::vector<int>& merged) {
  // Moves the splits of worker `v` off it if it is dead (least loaded live
  // worker first) and returns them: their state there is gone either way.
  auto release_worker = [&](size_t v) {
    std::vector<int32_t> splits = SplitsOn(outcome, v);
    if (outcome.alive[v]) return splits;
    std::vector<int64_t> load(workers_.size(), 0);
    for (int owner : outcome.split_worker) ++load[static_cast<size_t>(owner)];
    for (int32_t s : splits) {
      size_t best = workers_.size();
      for (size_t u = 0; u < workers_.size(); ++u) {
        if (outcome.alive[u] && (best == workers_.size() || load[u] < load[best])) best = u;
      }
      outcome.split_worker[static_cast<size_t>(s)] = static_cast<int>(best);
      ++load[best];
    }
    return splits;
  };
  // One split at a time: recovery is rare, and simple beats fast here.
  std::deque<int32_t> todo;
  for (int32_t s : release_worker(w)) todo.push_back(s);
  while (!todo.empty()) {
    const int32_t s = todo.front();
    todo.pop_front();
    const int stage = merged[static_cast<size_t>(s)];
    if (stage < kLoaded) continue;  // nothing to rebuild yet
    const size_t owner = static_cast<size_t>(outcome.split_worker[static_cast<size_t>(s)]);
    absl::Status st = Replay(outcome, control, s, stage);
    if (st.ok()) continue;
    // The new owner failed too: everything it held must be rebuilt.
    TS_RETURN_IF_ERROR(OnWorkerFailure(outcome, control, owner, st));
    for (int32_t t : release_worker(owner)) todo.push_back(t);
  }
  return absl::OkStatus();
}

absl::Status JobRunner::MoveOffLostWorkers(Job& job, int stage) {
  JobOutcome& outcome = job.outcome;
  for (size_t w = 0; w < workers_.size(); ++w) {
    if (outcome.alive[w]) continue;
    const std::vector<int32_t> on_it = SplitsOn(outcome, w);
    if (std::none_of(on_it.begin(), on_it.end(),
                     [&](int32_t s) { return job.merged[static_cast<size_t>(s)] < stage; })) {
      continue;
    }
    if (std::none_of(outcome.alive.begin(), outcome.alive.end(), [](bool a) { return a; })) {
      return absl::UnavailableError(absl::StrCat("all ", workers_.size(),
                                                 " workers are gone: no worker holds split ",
                                                 on_it.front(), " of job ", outcome.job_id));
    }
    TS_RETURN_IF_ERROR(Rebuild(outcome, job.control, w, job.merged));
  }
  return absl::OkStatus();
}

template <typename Request, typename Response>
absl::StatusOr<std::vector<Response>> JobRunner::RunPhase(
    Job& job, Stage stage, WorkerMethod<Request, Response> method,
    const std::function<Request(const std::vector<int32_t>&)>& request) {
  JobOutcome& outcome = job.outcome;
  std::vector<Response> done;
  while (true) {
    TS_RETURN_IF_ERROR(job.CheckStopped());
    TS_RETURN_IF_ERROR(MoveOffLostWorkers(job, stage));
    FanOut fan(workers_, Limits(1), Calls(job.control, outcome.traffic.get()));
    std::vector<std::pair<size_t, absl::Status>> failed;
    // One call per live worker: its splits not yet merged at this stage.
    for (size_t w = 0; w < workers_.size(); ++w) {
      if (!outcome.alive[w]) continue;
      std::vector<int32_t> todo;
      for (int32_t s : SplitsOn(outcome, w)) {
        if (job.merged[static_cast<size_t>(s)] < stage) todo.push_back(s);
      }
      if (todo.empty()) continue;
      fan.Call<Request, Response>(w, method, request(todo),
                                  [&, w, todo](absl::StatusOr<Response> reply) {
                                    if (!reply.ok()) {
                                      failed.emplace_back(w, reply.status());
                                      return;
                                    }
                                    for (int32_t s : todo)
                                      job.merged[static_cast<size_t>(s)] = stage;
                                    done.push_back(*std::move(reply));
                                  });
    }
    const absl::Status ran = fan.Run();
    TS_RETURN_IF_ERROR(job.CheckStopped());
    TS_RETURN_IF_ERROR(ran);
    if (failed.empty()) return done;
    for (const auto& [w, status] : failed) {
      TS_RETURN_IF_ERROR(OnWorkerFailure(outcome, job.control, w, status));
    }
    for (const auto& [w, status] : failed) {
      TS_RETURN_IF_ERROR(Rebuild(outcome, job.control, w, job.merged));
    }
  }
}

absl::Status JobRunner::LoadSplits(Job& job,
                                   std::vector<std::optional<v1::LoadResponse>>& per_split,
                                   std::vector<std::vector<v1::IdList>>* ids) {
  // One call per split, several at a time per worker, so that progress is
  // per split and a split is the unit of any retry.
  JobOutcome& outcome = job.outcome;
  const int32_t split_count = static_cast<int32_t>(outcome.splits.size());
  while (true) {
    TS_RETURN_IF_ERROR(job.CheckStopped());
    FanOut fan(workers_, Limits(LoadCallsPerWorker()), Calls(job.control, outcome.traffic.get()));
    std::vector<absl::Status> worker_error(workers_.size());
    absl::Status bad_reply;
    bool any = false;
    for (size_t s = 0; s < outcome.splits.size(); ++s) {
      if (job.merged[s] >= kLoaded) continue;
      any = true;
      const size_t w = static_cast<size_t>(outcome.split_worker[s]);
      v1::LoadRequest req;
      req.set_job_id(outcome.job_id);
      *req.mutable_spec() = outcome.spec;
      *req.add_splits() = outcome.splits[s];
      if (ids != nullptr) req.set_split_count(split_count);
      fan.Call<v1::LoadRequest, v1::LoadResponse>(
          w, &WorkerClient::Load, std::move(req), [&, s, w](absl::StatusOr<v1::LoadResponse> resp) {
            if (!resp.ok()) {
              if (worker_error[w].ok()) worker_error[w] = resp.status();
              fan.Forget(w);  // stop feeding a failing worker
              return;
            }
            if (ids != nullptr) {
              absl::Status taken = TakeIds(static_cast<int32_t>(s), *resp, *ids);
              if (!taken.ok()) {
                if (bad_reply.ok()) {
                  bad_reply = absl::InternalError(
                      absl::StrCat(workers_[w]->name(), ": Load: ", taken.message()));
                }
                return;
              }
            }
            ++job.progress.splits_done;
            job.progress.rows += resp->rows();
            job.progress.bytes += resp->bytes();
            per_split[s] = *std::move(resp);
            job.merged[s] = kLoaded;
            if (job.progress_fn) job.progress_fn(job.progress);
          });
    }
    if (!any) return absl::OkStatus();
    const absl::Status ran = fan.Run();
    TS_RETURN_IF_ERROR(job.CheckStopped());
    TS_RETURN_IF_ERROR(ran);
    TS_RETURN_IF_ERROR(bad_reply);
    for (size_t w = 0; w < workers_.size(); ++w) {
      if (worker_error[w].ok()) continue;
      TS_RETURN_IF_ERROR(OnWorkerFailure(outcome, job.control, w, worker_error[w]));
      TS_RETURN_IF_ERROR(Rebuild(outcome, job.control, w, job.merged));
    }
  }
}

absl::Status JobRunner::TakeIds(int32_t split, v1::LoadResponse& response,
                                std::vector<std::vector<v1::IdList>>& ids) {
  for (v1::IdList& list : *response.mutable_ids()) {
    if (list.split() != split || list.target() < 0 ||
        static_cast<size_t>(list.target()) >= ids.size() || list.ends_size() != list.rows_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a malformed id list for split ", split, " (target ", list.target(), ")"));
    }
    ids[static_cast<size_t>(list.target())].push_back(std::move(list));
  }
  response.clear_ids();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<engine::DuplicateId>> JobRunner::CheckIds(
    Job& job, const std::vector<std::vector<v1::IdList>>& ids) {
  const JobOutcome& outcome = job.outcome;
  TS_ASSIGN_OR_RETURN(
      std::vector<v1::CheckIdsResponse> checked,
      (RunPhase<v1::CheckIdsRequest, v1::CheckIdsResponse>(
          job, kChecked, &WorkerClient::CheckIds, [&](const std::vector<int32_t>& splits) {
            v1::CheckIdsRequest req;
            req.set_job_id(outcome.job_id);
            for (int32_t t : splits) {
              req.add_splits(t);
              for (const v1::IdList& list : ids[static_cast<size_t>(t)]) {
                *req.add_ids() = list;
              }
            }
            return req;
          })));
  std::vector<engine::DuplicateId> duplicates;
  for (v1::CheckIdsResponse& r : checked) {
    for (v1::DuplicateId& d : *r.mutable_duplicates()) {
      engine::DuplicateId& out = duplicates.emplace_back();
      out.id = std::move(*d.mutable_id());
      for (const v1::IdPlace& p : d.places()) {
        if (p.split() < 0 || static_cast<size_t>(p.split()) >= outcome.splits.size() ||
            p.row() < 0) {
          return absl::InternalError(absl::StrCat("CheckIds named split ", p.split(), " row ",
                                                  p.row(), ", which the job does not have"));
        }
        out.places.push_back({p.split(), p.row()});
      }
      std::sort(out.places.begin(), out.places.end());
      if (out.places.size() < 2) return absl::InternalError("CheckIds named a single place");
    }
  }
  engine::SortByFirstPlace(duplicates);
  return duplicates;
}

absl::Status JobRunner::DropLaterRows(Job& job, const std::vector<engine::DuplicateId>& duplicates,
                                      std::vector<std::optional<v1::LoadResponse>>& per_split) {
  JobOutcome& outcome = job.outcome;
  for (auto& [s, rows] : engine::LaterRows(duplicates)) {
    const size_t k = static_cast<size_t>(s);
    for (int32_t r : rows) {
      if (r >= per_split[k]->rows()) {
        return absl::InternalError(absl::StrCat("CheckIds named row ", r, " of split ", s,
                                                ", which has ", per_split[k]->rows()));
      }
    }
    *outcome.splits[k].mutable_skip_rows() = {rows.begin(), rows.end()};
    // Loaded again without them (the statistics must not count them).
    job.merged[k] = kPlanned;
    --job.progress.splits_done;
    job.progress.rows -= per_split[k]->rows();
    job.progress.bytes -= per_split[k]->bytes();
  }
  const int64_t dropped = engine::ExtraRows(duplicates);
  outcome.result.mutable_stats()->set_duplicates_dropped(dropped);
  common::LogEvent(spdlog::level::warn, "job.duplicates_dropped",
                   {{"job", outcome.job_id},
                    {"ids", std::to_string(duplicates.size())},
                    {"rows", std::to_string(dropped)}});
  return LoadSplits(job, per_split, nullptr);
}

std::string JobRunner::Where(const Job& job,
                             const std::vector<std::optional<v1::LoadResponse>>& per_split,
                             const engine::IdPlace& place) const {
  // Rows of the file's earlier splits (a file's splits are consecutive).
  const std::vector<v1::Split>& splits = job.outcome.splits;
  const size_t s = static_cast<size_t>(place.split);
  int64_t before = 0;
  for (size_t t = s; t > 0 && splits[t - 1].path() == splits[s].path(); --t) {
    before += per_split[t - 1]->rows();
  }
  return absl::StrCat(splits[s].path(), " row ", before + place.row + 1);
}

absl::StatusOr<std::vector<engine::CriterionStatsAcc>> JobRunner::Load(Job& job) {
  JobOutcome& outcome = job.outcome;
  std::vector<std::optional<v1::LoadResponse>> per_split(outcome.splits.size());
  {
    // Each split's ids, by the split that checks them (engine/duplicates.h).
    std::vector<std::vector<v1::IdList>> ids(outcome.splits.size());
    TS_RETURN_IF_ERROR(LoadSplits(job, per_split, &ids));
    TS_RETURN_IF_ERROR(job.StartPhase("check_ids"));
    TS_ASSIGN_OR_RETURN(const std::vector<engine::DuplicateId> duplicates, CheckIds(job, ids));
    ids.clear();
    if (!duplicates.empty() && !outcome.compiled->policy.keep_first) {
      return engine::DuplicateIdsError(
          duplicates, [&](const engine::IdPlace& p) { return Where(job, per_split, p); });
    }
    if (!duplicates.empty()) TS_RETURN_IF_ERROR(DropLaterRows(job, duplicates, per_split));
  }
  // Merged per split, once, in split order.
  std::vector<engine::CriterionStatsAcc> stats(outcome.compiled->policy.criteria.size());
  for (const auto& resp : per_split) {
    for (size_t c = 0; c < stats.size() && static_cast<int>(c) < resp->stats_size(); ++c) {
      stats[c].Merge(worker::FromWire(resp->stats(static_cast<int>(c))));
    }
  }
  return stats;
}

absl::StatusOr<JobRunner::ScoreTotals> JobRunner::Score(Job& job) {
  const JobOutcome& outcome = job.outcome;
  TS_ASSIGN_OR_RETURN(
      std::vector<v1::ScoreResponse> scored,
      (RunPhase<v1::ScoreRequest, v1::ScoreResponse>(job, kScored, &WorkerClient::Score,
                                                     [&](const std::vector<int32_t>& splits) {
                                                       v1::ScoreRequest req;
                                                       req.set_job_id(outcome.job_id);
                                                       for (int32_t s : splits) req.add_splits(s);
                                                       for (const auto& p : outcome.params)
                                                         *req.add_criteria() = p;
                                                       return req;
                                                     })));
  ScoreTotals totals;
  bool first = true;
  for (const v1::ScoreResponse& r : scored) {
    totals.count += r.count();
    totals.value += engine::FromProto(r.value_total());
    if (r.count() == 0) continue;
    totals.min_score = first ? r.min_score() : std::min(totals.min_score, r.min_score());
    totals.max_score = first ? r.max_score() : std::max(totals.max_score, r.max_score());
    first = false;
  }
  return totals;
}

absl::StatusOr<std::vector<v1::CutKey>> JobRunner::Search(Job& job, const ScoreTotals& totals) {
  JobOutcome& outcome = job.outcome;
  std::vector<CutTarget> targets;
  for (const engine::CompiledScheme& scheme : outcome.compiled->policy.schemes) {
    for (const CutTarget& c : scheme.CutTargets(totals.count, totals.value)) targets.push_back(c);
  }
  ProbeFn probe = [&](const std::vector<v1::Probe>& probes) { return ProbeAll(job, probes); };
  return FindCuts(targets, totals.count, totals.value, totals.min_score, totals.max_score, probe,
                  options_.cut_search, &outcome.search);
}

absl::StatusOr<std::vector<v1::ProbeResult>> JobRunner::ProbeAll(
    Job& job, const std::vector<v1::Probe>& probes) {
  JobOutcome& outcome = job.outcome;
  // A round is asked of every live worker; if one is lost, its splits are
  // rebuilt elsewhere and the whole round is asked again.
  while (true) {
    TS_RETURN_IF_ERROR(job.CheckStopped());
    FanOut fan(workers_, Limits(1), Calls(job.control, outcome.traffic.get()));
    std::vector<std::optional<v1::ProbeResponse>> responses(workers_.size());
    std::vector<std::pair<size_t, absl::Status>> failed;
    absl::Status error;
    for (size_t w = 0; w < workers_.size(); ++w) {
      const std::vector<int32_t> mine = SplitsOn(outcome, w);
      if (!outcome.alive[w] || mine.empty()) continue;
      v1::ProbeRequest req;
      req.set_job_id(outcome.job_id);
      for (int32_t s : mine) req.add_splits(s);
      for (const auto& p : probes) *req.add_probes() = p;
      fan.Call<v1::ProbeRequest, v1::ProbeResponse>(
          w, &WorkerClient::Probe, std::move(req), [&, w](absl::StatusOr<v1::ProbeResponse> r) {
            if (!r.ok()) {
              failed.emplace_back(w, r.status());
            } else if (r->results_size() != static_cast<int>(probes.size())) {
              error = absl::InternalError(
                  absl::StrCat(workers_[w]->name(), ": wrong number of probe results"));
            } else {
              responses[w] = *std::move(r);
            }
          });
    }
    const absl::Status ran = fan.Run();
    TS_RETURN_IF_ERROR(job.CheckStopped());
    TS_RETURN_IF_ERROR(ran);
    TS_RETURN_IF_ERROR(error);
    for (const auto& [w, status] : failed) {
      TS_RETURN_IF_ERROR(OnWorkerFailure(outcome, job.control, w, status));
      TS_RETURN_IF_ERROR(Rebuild(outcome, job.control, w, job.merged));
    }
    if (!failed.empty()) continue;
    // Merged in worker order, whatever order the replies came in.
    std::vector<v1::ProbeResult> merged;
    for (auto& r : responses) {
      if (r.has_value()) MergeResults(merged, *std::move(r));
    }
    for (auto& m : merged) std::sort(m.mutable_sample()->begin(), m.mutable_sample()->end());
    return merged;
  }
}

absl::Status JobRunner::Locate(Job& job, const ScoreTotals& totals) {
  JobOutcome& outcome = job.outcome;
  constexpr int kBins = engine::PositionTable::kBins;
  v1::Probe p;
  p.mutable_range()->set_score_lo(totals.min_score);
  p.mutable_range()->set_score_hi(totals.max_score);
  p.set_score_bins(kBins);
  TS_ASSIGN_OR_RETURN(std::vector<v1::ProbeResult> results, ProbeAll(job, {p}));
  std::vector<int64_t> counts(kBins, 0);
  std::vector<int128> values(kBins, 0);
  if (!results.empty()) {
    for (int b = 0; b < std::min(kBins, results[0].buckets_size()); ++b) {
      counts[static_cast<size_t>(b)] = results[0].buckets(b).count();
      values[static_cast<size_t>(b)] = engine::FromProto(results[0].buckets(b).value());
    }
  }
  worker::ToWire(engine::PositionTable::Build(totals.min_score, totals.max_score, counts, values),
                 &outcome.positions);
  outcome.result.mutable_stats()->set_position_error(
      engine::PositionTable::MaxBinShare(counts, values));
  return absl::OkStatus();
}

absl::Status JobRunner::CheckAssigned(const engine::CompiledPolicy& policy,
                                      const std::vector<v1::AssignResponse>& assigned) {
  for (const v1::AssignResponse& r : assigned) {
    bool fits = r.tiers_size() == static_cast<int>(policy.schemes.size());
    for (int s = 0; fits && s < r.tiers_size(); ++s) {
      const int tiers = static_cast<int>(policy.schemes[static_cast<size_t>(s)].names.size());
      fits = r.tiers(s).customers_size() == tiers && r.tiers(s).value_size() == tiers;
    }
    if (!fits) {
      return absl::InternalError("a worker answered assign with tier totals of another shape");
    }
  }
  return absl::OkStatus();
}

absl::Status JobRunner::AssignAndAggregate(Job& job) {
  JobOutcome& outcome = job.outcome;
  const engine::CompiledJob& compiled = *outcome.compiled;
  const engine::CompiledPolicy& policy = compiled.policy;
  TS_ASSIGN_OR_RETURN(
      std::vector<v1::AssignResponse> assigned,
      (RunPhase<v1::AssignRequest, v1::AssignResponse>(
          job, kAssigned, &WorkerClient::Assign, [&](const std::vector<int32_t>& splits) {
            v1::AssignRequest req = AssignTemplate(outcome);
            for (int32_t s : splits) req.add_splits(s);
            return req;
          })));

  TS_RETURN_IF_ERROR(CheckAssigned(policy, assigned));
  v1::JobResult& result = outcome.result;
  result.clear_tiers();  // a repeated assign replaces the last one's
  outcome.tier_totals.clear();
  for (size_t s = 0; s < policy.schemes.size(); ++s) {
    const size_t tiers = policy.schemes[s].names.size();
    std::vector<int64_t> customers(tiers, 0);
    std::vector<int128> values(tiers, 0);
    for (const v1::AssignResponse& r : assigned) {
      const v1::TierTotals& totals = r.tiers(static_cast<int>(s));
      for (size_t k = 0; k < tiers; ++k) {
        customers[k] += totals.customers(static_cast<int>(k));
        values[k] += engine::FromProto(totals.value(static_cast<int>(k)));
      }
    }
    *result.add_tiers() = engine::BuildTierSummary(policy.schemes[s], customers, values);
    outcome.tier_totals.emplace_back(std::move(customers), std::move(values));
  }
  engine::GroupedState kpis(compiled.kpis.sets.size());
  for (const v1::AssignResponse& r : assigned)
    kpis.MergeProto(r.kpis(), compiled.kpis.metrics.size());
  *result.mutable_kpis() = engine::FinalizeKpis(compiled.kpis, policy, std::move(kpis));
  if (options_.max_groups > 0 && result.kpis().rows_size() > options_.max_groups) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "kpis: the grouping sets make ", result.kpis().rows_size(), " groups, more than the ",
        options_.max_groups, " allowed (--max-groups); group by fewer or coarser columns"));
  }
  if (outcome.prior.has_value()) {
    const std::vector<engine::PriorScheme> prior = engine::MatchPrior(policy, *outcome.prior);
    for (size_t s = 0; s < policy.schemes.size(); ++s) {
      if (prior[s].index < 0) continue;
      engine::MigrationAcc acc(prior[s].tiers, static_cast<int>(policy.schemes[s].names.size()));
      for (const v1::AssignResponse& r : assigned) {
        if (static_cast<int>(s) >= r.migration_size()) {
          return absl::InternalError("a worker answered assign without the migration asked for");
        }
        TS_RETURN_IF_ERROR(acc.MergeProto(r.migration(static_cast<int>(s))));
      }
      *result.mutable_kpis()->add_migration() = acc.Finish(policy.schemes[s].name, *outcome.prior,
                                                           prior[s].index, policy.schemes[s].names);
    }
  }
  return absl::OkStatus();
}

v1::AssignRequest JobRunner::AssignTemplate(const JobOutcome& outcome) const {
  v1::AssignRequest req;
  req.set_job_id(outcome.job_id);
  for (const auto& sc : outcome.cuts) *req.add_schemes() = sc;
  *req.mutable_positions() = outcome.positions;
  if (outcome.prior.has_value()) *req.mutable_prior() = *outcome.prior;
  return req;
}

absl::Status JobRunner::ReadCurrentRun(JobOutcome& outcome) {
  outcome.prior.reset();
  outcome.assigned_against.clear();
  if (options_.store == nullptr || outcome.spec.alias().empty()) return absl::OkStatus();
  common::RunStore runs(options_.store);
  auto current = runs.CurrentRunId(outcome.spec.alias());
  if (absl::IsNotFound(current.status())) return absl::OkStatus();
  TS_RETURN_IF_ERROR(current.status());
  outcome.assigned_against = *current;
  auto run = runs.Run(*current);
  if (absl::IsNotFound(run.status())) return absl::OkStatus();  // expired: nothing to carry
  TS_RETURN_IF_ERROR(run.status());
  outcome.prior = *std::move(run);
  return absl::OkStatus();
}

absl::Status JobRunner::AssignAndPublish(Job& job) {
  JobOutcome& outcome = job.outcome;
  const std::string& alias = outcome.spec.alias();
  const bool publish = options_.store != nullptr && !alias.empty() && !outcome.spec.no_publish();
  for (int attempt = 1;; ++attempt) {
    // Assigned against the alias's current run (previous tiers, downgrade
    // protection, migration). If that cannot be read, tiers are as earned
    // and the run is not published: publishing it would lose what the
    // previous run carries forward.
    absl::Status read = ReadCurrentRun(outcome);
    if (!read.ok() && !publish && !alias.empty()) {
      return absl::Status(read.code(), absl::StrCat("the current run of ", alias,
                                                    " could not be read: ", read.message()));
    }
    std::string prior_error(read.message());
    absl::Status assigned = AssignAndAggregate(job);
    if (absl::IsAborted(assigned) && outcome.prior.has_value()) {
      prior_error = std::string(assigned.message());
      outcome.prior.reset();
      for (int& m : job.merged) m = std::min<int>(m, kScored);
      assigned = AssignAndAggregate(job);
    }
    TS_RETURN_IF_ERROR(assigned);
    if (!publish) return absl::OkStatus();
    TS_RETURN_IF_ERROR(job.StartPhase("publish"));
    v1::Publication& publication = *outcome.result.mutable_publication();
    if (!prior_error.empty()) {
      publication.Clear();
      publication.set_run_id(outcome.job_id);
      publication.set_alias(alias);
      publication.set_error_code(static_cast<int32_t>(absl::StatusCode::kUnavailable));
      publication.set_error(
          absl::StrCat("the current run of ", alias, " could not be read (", prior_error,
                       "), and a run published without it would lose previous tiers and downgrade "
                       "protection; retry publishing once the store is back"));
      return absl::OkStatus();
    }
    publication = Publish(job);
    // Cancelled (or past its deadline) while publishing: the job ends so,
    // not SUCCEEDED (what was written is discarded).
    TS_RETURN_IF_ERROR(job.CheckStopped());
    if (publication.error_code() != static_cast<int>(absl::StatusCode::kAborted) ||
        attempt == options_.publish_attempts) {
      return absl::OkStatus();
    }
    // Another job published to the alias since it was read: assign again
    // against the run it published.
    common::LogEvent(spdlog::level::info, "job.publish_retried",
                     {{"job", outcome.job_id}, {"alias", alias}, {"attempt", attempt}});
    for (int& m : job.merged) m = std::min<int>(m, kScored);
  }
}

absl::Status JobRunner::Republish(JobOutcome& outcome) {
  Job job(outcome.job_id, outcome.spec, nullptr, RunControl{});
  job.outcome = std::move(outcome);
  // Workers lost while the job ran may be back (restarted: they then say
  // so, and their splits are loaded again): each is tried anew.
  job.outcome.alive.assign(workers_.size(), true);
  job.merged.assign(job.outcome.splits.size(), kScored);
  absl::Status st = AssignAndPublish(job);
  outcome = std::move(job.outcome);
  return st;
}

v1::Publication JobRunner::Publish(Job& job) {
  JobOutcome& outcome = job.outcome;
  const engine::CompiledJob& compiled = *outcome.compiled;
  v1::Publication publication;
  publication.set_run_id(outcome.job_id);
  publication.set_alias(outcome.spec.alias());
  const int buckets = common::RunStore::BucketCount(outcome.result.customers());
  common::RunStore runs(options_.store);
  const std::string writer = common::RunStore::NewWriter();
  auto written = RunPhase<v1::PublishRequest, v1::PublishResponse>(
      job, kPublished, &WorkerClient::Publish, [&](const std::vector<int32_t>& splits) {
        v1::PublishRequest req;
        req.set_job_id(outcome.job_id);
        for (int32_t s : splits) req.add_splits(s);
        req.set_run_id(outcome.job_id);
        req.set_buckets(buckets);
        req.set_unpublished_ttl_ms(absl::ToInt64Milliseconds(options_.unpublished_ttl));
        req.set_writer(writer);
        return req;
      });
  if (!written.ok()) {
    publication.set_error_code(written.status().raw_code());
    publication.set_error(common::CutMessage(written.status().message()));
    DiscardRun(outcome.job_id, writer, buckets);
    return publication;
  }
  int64_t records = 0;
  for (const v1::PublishResponse& r : *written) records += r.records();
  if (records != outcome.result.customers()) {
    // Never switch an alias to a run missing customers.
    publication.set_error_code(static_cast<int32_t>(absl::StatusCode::kInternal));
    publication.set_error(absl::StrCat("the workers wrote ", records, " records of the run's ",
                                       outcome.result.customers(), " customers; not published"));
    DiscardRun(outcome.job_id, writer, buckets);
    return publication;
  }
  v1::RunMeta meta;
  meta.set_run_id(outcome.job_id);
  meta.set_alias(publication.alias());
  meta.set_buckets(buckets);
  meta.set_customers(outcome.result.customers());
  meta.set_previous_run(outcome.assigned_against);
  for (size_t s = 0; s < compiled.policy.schemes.size(); ++s) {
    const engine::CompiledScheme& scheme = compiled.policy.schemes[s];
    v1::RunMeta::Scheme* out = meta.add_schemes();
    out->set_name(scheme.name);
    out->set_protection(scheme.protection.enabled());
    for (const std::string& t : scheme.names) out->add_tiers(t);
    for (size_t t = 0; t < scheme.names.size(); ++t) {
      out->add_customers(outcome.tier_totals[s].first[t]);
      engine::ToProto(outcome.tier_totals[s].second[t], out->add_value_micros());
    }
  }
  for (const engine::CompiledCriterion& c : compiled.policy.criteria) meta.add_criteria(c.name);
  auto published = runs.Publish(meta, writer, options_.run_retention);
  if (!published.ok()) {
    publication.set_error_code(published.status().raw_code());
    publication.set_error(common::CutMessage(published.status().message()));
    return publication;
  }
  publication.set_published(true);
  publication.set_records(records);
  publication.set_previous_run(published->meta.previous_run());
  if (!published->previous_expiry.ok()) {
    publication.set_error(absl::StrCat("published; the previous run was not set to expire: ",
                                       published->previous_expiry.message()));
  }
  return publication;
}

void JobRunner::DiscardRun(const std::string& run_id, const std::string& writer, int buckets) {
  // What a failed or cancelled attempt wrote would otherwise stay until its
  // time to live; a retry writes everything again.
  absl::Status st = common::RunStore(options_.store).Discard(run_id, writer, buckets);
  common::LogEvent(st.ok() ? spdlog::level::info : spdlog::level::warn, "job.run_discarded",
                   {{"job", run_id},
                    {"buckets", buckets},
                    {"error", st.ok() ? std::string() : common::CutMessage(st.message())}});
}

absl::Status JobRunner::ExportResults(JobOutcome& outcome, bool explain,
                                      const std::function<absl::Status(const std::string&)>& sink,
                                      const RunControl& control) {
  // A pipeline: up to `window` splits are being formatted by workers or wait
  // to be written while the sink writes the oldest, so formatting and
  // writing overlap and memory stays bounded. A split whose results are
  // larger than a page comes in pages, each asked for once the one before
  // it is written.
  const size_t n = outcome.splits.size();
  const size_t window =
      static_cast<size_t>(std::max(1, options_.export_calls_per_worker)) * workers_.size();
  const std::vector<int> all_merged(n, kAssigned);
  // As in Republish: a worker lost before may be back.
  outcome.alive.assign(workers_.size(), true);
  FanOut fan(workers_, Limits(options_.export_calls_per_worker), Calls(control, nullptr));
  std::map<size_t, v1::ExportResponse> ready;  // a page per split, waiting for its turn
  size_t next_to_fetch = 0;
  size_t next_to_write = 0;
  absl::Status error;
  auto fail = [&](absl::Status st) {
    if (error.ok()) error = std::move(st);
    fan.Abort();
  };
  std::function<void(size_t, int64_t)> fetch = [&](size_t split, int64_t first_row) {
    const size_t owner = static_cast<size_t>(outcome.split_worker[split]);
    v1::ExportRequest req;
    req.set_job_id(outcome.job_id);
    req.set_split_index(static_cast<int32_t>(split));
    req.set_explain(explain);
    req.set_first_row(first_row);
    req.set_max_bytes(options_.export_page_bytes);
    fan.Call<v1::ExportRequest, v1::ExportResponse>(
        owner, &WorkerClient::Export, std::move(req),
        [&, split, first_row, owner](absl::StatusOr<v1::ExportResponse> page) {
          if (!error.ok()) return;
          if (!page.ok()) {
            // Rebuild the owner's splits elsewhere (unless another reply
            // did already) and ask the new owner.
            if (outcome.alive[owner] || absl::IsFailedPrecondition(page.status())) {
              absl::Status st = OnWorkerFailure(outcome, control, owner, page.status());
              if (st.ok()) st = Rebuild(outcome, control, owner, all_merged);
              if (!st.ok()) return fail(std::move(st));
            }
            return fetch(split, first_row);
          }
          if (page->next_row() != 0 && page->next_row() <= first_row) {
            return fail(absl::InternalError(absl::StrCat(
                "worker ", workers_[owner]->name(), " exported split ", split, " from row ",
                first_row, " and named row ", page->next_row(), " as the next")));
          }
          ready[split] = *std::move(page);
          for (auto it = ready.find(next_to_write); it != ready.end();
               it = ready.find(next_to_write)) {
            absl::Status written = sink(it->second.csv());
            if (!written.ok()) return fail(std::move(written));
            const int64_t next_row = it->second.next_row();
            ready.erase(it);
            if (next_row != 0) return fetch(next_to_write, next_row);
            ++next_to_write;
            if (next_to_fetch < n) fetch(next_to_fetch++, 0);
          }
        });
  };
  while (next_to_fetch < std::min(n, window)) fetch(next_to_fetch++, 0);
  const absl::Status ran = fan.Run();
  TS_RETURN_IF_ERROR(error);
  if (control.cancel != nullptr && control.cancel->cancelled()) {
    return absl::CancelledError("export cancelled");
  }
  TS_RETURN_IF_ERROR(ran);
  if (next_to_write != n) return absl::InternalError("export ended before its last split");
  return absl::OkStatus();
}

absl::StatusOr<std::string> JobRunner::Fingerprint(const v1::JobSpec& spec, CancelScope* cancel) {
  std::string out = absl::StrCat(engine::ComputationKey(spec), "\n", spec.alias(), "\n",
                                 spec.no_publish() ? "no_publish" : "publish");
  std::vector<absl::StatusOr<v1::ScanResponse>> scans(static_cast<size_t>(spec.inputs_size()),
                                                      absl::UnknownError("not scanned"));
  FanOut fan(workers_, Limits(1), Calls(RunControl{cancel}, nullptr, /*short_calls=*/true));
  for (int f = 0; f < spec.inputs_size(); ++f) {
    v1::ScanRequest head;
    head.set_path(spec.inputs(f));
    fan.Call<v1::ScanRequest, v1::ScanResponse>(static_cast<size_t>(f) % workers_.size(),
                                                &WorkerClient::Scan, std::move(head),
                                                [&scans, f](absl::StatusOr<v1::ScanResponse> r) {
                                                  scans[static_cast<size_t>(f)] = std::move(r);
                                                });
  }
  TS_RETURN_IF_ERROR(fan.Run());
  for (int f = 0; f < spec.inputs_size(); ++f) {
    TS_ASSIGN_OR_RETURN(v1::ScanResponse scan, std::move(scans[static_cast<size_t>(f)]));
    absl::StrAppend(&out, "\n", spec.inputs(f), "\n", scan.file_size(), "\n", scan.mtime_ns());
  }
  return out;
}

void JobRunner::Release(const std::string& job_id) {
  // Best effort: a worker that is gone has nothing left to free.
  FanOut fan(workers_, Limits(1), Calls({}, nullptr, /*short_calls=*/true));
  for (size_t w = 0; w < workers_.size(); ++w) {
    v1::ReleaseRequest req;
    req.set_job_id(job_id);
    fan.Call<v1::ReleaseRequest, v1::ReleaseResponse>(
        w, &WorkerClient::Release, std::move(req),
        [](const absl::StatusOr<v1::ReleaseResponse>&) {});
  }
  fan.Run().IgnoreError();
}

}  // namespace tierscore::coordinator

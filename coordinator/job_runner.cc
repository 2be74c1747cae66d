#include "coordinator/job_runner.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <future>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "engine/csv.h"
#include "engine/kpi.h"
#include "engine/scoring.h"
#include "engine/tiering.h"

namespace tierscore::coordinator {
namespace {

using engine::int128;

// Runs fn(i) for i in [0, n) on threads of their own (worker calls block on
// I/O, not CPU) and returns the first error by index.
absl::Status FanOut(int n, const std::function<absl::Status(int)>& fn) {
  std::vector<absl::Status> statuses(static_cast<size_t>(n));
  if (n == 1) {
    statuses[0] = fn(0);
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] { statuses[static_cast<size_t>(i)] = fn(i); });
    }
    for (auto& t : threads) t.join();
  }
  for (const absl::Status& st : statuses) TS_RETURN_IF_ERROR(st);
  return absl::OkStatus();
}

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

absl::StatusOr<std::unique_ptr<JobRunner>> JobRunner::Create(
    std::vector<WorkerClient*> workers, const JobRunnerOptions& options) {
  if (workers.empty()) return absl::InvalidArgumentError("no workers");
  return std::unique_ptr<JobRunner>(new JobRunner(std::move(workers), options));
}

std::string JobRunner::ResultsHeader(const engine::CompiledJob& job, bool explain) {
  std::string h = "customer_id,score";
  for (const auto& s : job.policy.schemes) absl::StrAppend(&h, ",", s.name);
  absl::StrAppend(&h, ",value");
  if (explain) {
    for (const auto& c : job.policy.criteria) absl::StrAppend(&h, ",contribution_", c.name);
  }
  h += '\n';
  return h;
}

int JobRunner::LoadCallsPerWorker() const {
  return options_.load_calls_per_worker > 0
             ? options_.load_calls_per_worker
             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

absl::StatusOr<std::vector<v1::Split>> JobRunner::PlanSplits(
    const v1::JobSpec& spec, const engine::CompiledJob& job) {
  if (spec.inputs_size() == 0) {
    return absl::InvalidArgumentError("inputs: at least one input file is required");
  }
  // Headers first: they validate the inputs and size the splits.
  absl::flat_hash_set<std::string> seen;
  const int nw = static_cast<int>(workers_.size());
  std::vector<engine::CsvHeader> headers;
  int64_t splittable_bytes = 0;
  for (int f = 0; f < spec.inputs_size(); ++f) {
    const std::string& path = spec.inputs(f);
    if (!seen.insert(path).second) {
      return absl::InvalidArgumentError(absl::StrCat("inputs[", f, "]: ", path, " is listed twice"));
    }
    v1::ScanRequest head;
    head.set_path(path);
    TS_ASSIGN_OR_RETURN(v1::ScanResponse scan, workers_[static_cast<size_t>(f % nw)]->Scan(head, Deadline()));
    engine::CsvHeader header;
    header.columns.assign(scan.header().begin(), scan.header().end());
    TS_RETURN_IF_ERROR(engine::CheckHeader(job, path, header.columns));
    header.data_begin = scan.header_end();
    header.file_size = scan.file_size();
    header.gzip = scan.gzip();
    if (!header.gzip) splittable_bytes += header.file_size - header.data_begin;
    headers.push_back(std::move(header));
  }
  // By default, several splits per load lane so that every core stays busy
  // to the end; never smaller than 4 MiB nor larger than the configured size.
  int64_t split_bytes = spec.split_bytes();
  if (split_bytes <= 0) {
    const int64_t lanes = static_cast<int64_t>(nw) * LoadCallsPerWorker();
    split_bytes = std::clamp<int64_t>(splittable_bytes / (4 * lanes), int64_t{4} << 20,
                                      std::max<int64_t>(options_.split_bytes, int64_t{4} << 20));
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
    const std::vector<v1::ByteRange> ranges = engine::RawRanges(header, split_bytes);
    if (ranges.empty()) continue;
    // Scan contiguous groups of ranges on different workers at once.
    const int groups = std::min<int>(nw, static_cast<int>(ranges.size()));
    std::vector<v1::RangeScan> scans(ranges.size());
    TS_RETURN_IF_ERROR(FanOut(groups, [&](int g) -> absl::Status {
      const size_t lo = ranges.size() * static_cast<size_t>(g) / static_cast<size_t>(groups);
      const size_t hi = ranges.size() * static_cast<size_t>(g + 1) / static_cast<size_t>(groups);
      v1::ScanRequest req;
      req.set_path(path);
      for (size_t i = lo; i < hi; ++i) *req.add_ranges() = ranges[i];
      TS_ASSIGN_OR_RETURN(v1::ScanResponse resp,
                          workers_[static_cast<size_t>(g)]->Scan(req, Deadline()));
      if (resp.ranges_size() != static_cast<int>(hi - lo)) {
        return absl::InternalError("worker returned the wrong number of range scans");
      }
      for (size_t i = lo; i < hi; ++i) scans[i] = resp.ranges(static_cast<int>(i - lo));
      return absl::OkStatus();
    }));
    for (v1::Split& s : engine::AlignSplits(path, header, ranges, scans,
                                            static_cast<int>(splits.size()))) {
      splits.push_back(std::move(s));
    }
  }
  return splits;
}

struct JobRunner::Job {
  Job(std::string id, const v1::JobSpec& spec, ProgressFn progress)
      : spec(spec), progress_fn(std::move(progress)) {
    outcome.job_id = std::move(id);
  }

  // Closes the running phase in the stats and reports the next one.
  void StartPhase(const std::string& name) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu);
    if (!progress.phase.empty()) {
      auto* phase = outcome.result.mutable_stats()->add_phases();
      phase->set_name(progress.phase);
      phase->set_seconds(absl::ToDoubleSeconds(now - phase_start));
    }
    phase_start = now;
    progress.phase = name;
    if (progress_fn) progress_fn(progress);
  }

  const v1::JobSpec& spec;
  JobOutcome outcome;
  std::vector<std::vector<int32_t>> placed;  // worker -> split indices
  std::vector<size_t> active;                // workers holding splits

  absl::Mutex mu;
  JobProgress progress ABSL_GUARDED_BY(mu);
  const ProgressFn progress_fn;
  absl::Time phase_start ABSL_GUARDED_BY(mu);
};

absl::StatusOr<JobOutcome> JobRunner::Run(const std::string& job_id,
                                          const v1::JobSpec& spec,
                                          const ProgressFn& progress) {
  Job job(job_id, spec, progress);
  JobOutcome& outcome = job.outcome;
  TS_ASSIGN_OR_RETURN(outcome.compiled, engine::CompileJob(spec.policy(), spec.kpis()));
  const engine::CompiledPolicy& policy = outcome.compiled->policy;

  job.StartPhase("plan");
  TS_ASSIGN_OR_RETURN(outcome.splits, PlanSplits(spec, *outcome.compiled));
  PlaceSplits(job);

  job.StartPhase("load");
  TS_ASSIGN_OR_RETURN(std::vector<engine::CriterionStatsAcc> stats, Load(job));

  job.StartPhase("score");
  TS_ASSIGN_OR_RETURN(ScoreTotals totals,
                      Score(job, engine::NormalizationParams(policy, stats)));

  job.StartPhase("search");
  TS_ASSIGN_OR_RETURN(std::vector<v1::CutKey> cuts, Search(job, totals));

  job.StartPhase("assign");
  TS_RETURN_IF_ERROR(AssignAndAggregate(job, cuts));
  outcome.result.set_customers(totals.count);
  outcome.result.set_total_value(engine::MicrosToValue(totals.value));

  v1::JobStats& stats_out = *outcome.result.mutable_stats();
  stats_out.set_splits(static_cast<int32_t>(outcome.splits.size()));
  stats_out.set_search_rounds(outcome.search.rounds);
  stats_out.set_search_items_fetched(outcome.search.items_fetched);
  job.StartPhase("done");
  {
    absl::MutexLock lock(&job.mu);
    stats_out.set_bytes(job.progress.bytes);
  }
  return std::move(job.outcome);
}

void JobRunner::PlaceSplits(Job& job) {
  // Largest first onto the least loaded worker.
  JobOutcome& outcome = job.outcome;
  const size_t nw = workers_.size();
  auto size_of = [&](size_t i) { return outcome.splits[i].end() - outcome.splits[i].begin(); };
  std::vector<size_t> order(outcome.splits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return size_of(a) > size_of(b); });
  std::vector<int64_t> load(nw, 0);
  outcome.split_worker.assign(outcome.splits.size(), 0);
  for (size_t i : order) {
    const size_t w = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[w] += size_of(i);
    outcome.split_worker[i] = static_cast<int>(w);
  }
  job.placed.assign(nw, {});
  for (size_t i = 0; i < outcome.splits.size(); ++i) {
    job.placed[static_cast<size_t>(outcome.split_worker[i])].push_back(static_cast<int32_t>(i));
  }
  for (size_t w = 0; w < nw; ++w) {
    if (!job.placed[w].empty()) job.active.push_back(w);
  }
  absl::MutexLock lock(&job.mu);
  job.progress.splits_total = static_cast<int>(outcome.splits.size());
}

absl::Status JobRunner::ForEachWorker(
    Job& job,
    const std::function<absl::Status(WorkerClient&, const std::vector<int32_t>&, size_t)>& fn) {
  return FanOut(static_cast<int>(job.active.size()), [&](int a) {
    const size_t w = job.active[static_cast<size_t>(a)];
    return fn(*workers_[w], job.placed[w], static_cast<size_t>(a));
  });
}

absl::StatusOr<std::vector<engine::CriterionStatsAcc>> JobRunner::Load(Job& job) {
  // One call per split, several at a time per worker, so that progress is
  // per split and a split is the unit of any retry.
  const engine::CompiledPolicy& policy = job.outcome.compiled->policy;
  std::vector<engine::CriterionStatsAcc> stats(policy.criteria.size());
  const int per_worker = LoadCallsPerWorker();
  std::vector<std::atomic<size_t>> next(workers_.size());
  std::atomic<bool> failed{false};
  std::vector<size_t> lanes;  // a worker index per concurrent caller
  for (size_t w : job.active) {
    const int here = std::min<int>(per_worker, static_cast<int>(job.placed[w].size()));
    for (int l = 0; l < here; ++l) lanes.push_back(w);
  }
  TS_RETURN_IF_ERROR(FanOut(static_cast<int>(lanes.size()), [&](int lane) -> absl::Status {
    const size_t w = lanes[static_cast<size_t>(lane)];
    while (!failed.load()) {
      const size_t i = next[w].fetch_add(1);
      if (i >= job.placed[w].size()) break;
      v1::LoadRequest req;
      req.set_job_id(job.outcome.job_id);
      *req.mutable_spec() = job.spec;
      *req.add_splits() = job.outcome.splits[static_cast<size_t>(job.placed[w][i])];
      auto resp = workers_[w]->Load(req, Deadline());
      if (!resp.ok()) {
        failed = true;
        return resp.status();
      }
      absl::MutexLock lock(&job.mu);
      for (size_t c = 0; c < stats.size() && static_cast<int>(c) < resp->stats_size(); ++c) {
        stats[c].Merge(engine::CriterionStatsAcc::FromProto(resp->stats(static_cast<int>(c))));
      }
      ++job.progress.splits_done;
      job.progress.rows += resp->rows();
      job.progress.bytes += resp->bytes();
      if (job.progress_fn) job.progress_fn(job.progress);
    }
    return absl::OkStatus();
  }));
  return stats;
}

absl::StatusOr<JobRunner::ScoreTotals> JobRunner::Score(
    Job& job, const std::vector<v1::CriterionParams>& params) {
  std::vector<v1::ScoreResponse> scored(job.active.size());
  TS_RETURN_IF_ERROR(ForEachWorker(job, [&](WorkerClient& worker, const std::vector<int32_t>& splits,
                                            size_t a) -> absl::Status {
    v1::ScoreRequest req;
    req.set_job_id(job.outcome.job_id);
    for (int32_t s : splits) req.add_splits(s);
    for (const auto& p : params) *req.add_criteria() = p;
    TS_ASSIGN_OR_RETURN(scored[a], worker.Score(req, Deadline()));
    return absl::OkStatus();
  }));
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
  std::vector<CutTarget> targets;
  for (const engine::CompiledScheme& scheme : job.outcome.compiled->policy.schemes) {
    if (scheme.kind == engine::SchemeKind::kThresholds) continue;
    const bool by_value = scheme.kind == engine::SchemeKind::kPareto;
    const int128 total = by_value ? totals.value : static_cast<int128>(totals.count);
    for (double b : scheme.boundaries) targets.push_back({by_value, engine::ShareThreshold(b, total)});
  }
  ProbeFn probe = [&](const std::vector<v1::Probe>& probes)
      -> absl::StatusOr<std::vector<v1::ProbeResult>> {
    std::vector<v1::ProbeResponse> responses(job.active.size());
    TS_RETURN_IF_ERROR(ForEachWorker(job, [&](WorkerClient& worker,
                                              const std::vector<int32_t>& splits,
                                              size_t a) -> absl::Status {
      v1::ProbeRequest req;
      req.set_job_id(job.outcome.job_id);
      for (int32_t s : splits) req.add_splits(s);
      for (const auto& p : probes) *req.add_probes() = p;
      TS_ASSIGN_OR_RETURN(responses[a], worker.Probe(req, Deadline()));
      if (responses[a].results_size() != static_cast<int>(probes.size())) {
        return absl::InternalError(absl::StrCat(worker.name(), ": wrong number of probe results"));
      }
      return absl::OkStatus();
    }));
    std::vector<v1::ProbeResult> merged;
    for (auto& r : responses) MergeResults(merged, std::move(r));
    for (auto& m : merged) std::sort(m.mutable_sample()->begin(), m.mutable_sample()->end());
    return merged;
  };
  return FindCuts(targets, totals.count, totals.value, totals.min_score, totals.max_score, probe,
                  options_.cut_search, &job.outcome.search);
}

absl::Status JobRunner::AssignAndAggregate(Job& job, const std::vector<v1::CutKey>& cuts) {
  const engine::CompiledJob& compiled = *job.outcome.compiled;
  const engine::CompiledPolicy& policy = compiled.policy;
  // Cuts come in scheme order; threshold schemes need none.
  std::vector<v1::SchemeCuts> scheme_cuts;
  size_t t = 0;
  for (const engine::CompiledScheme& scheme : policy.schemes) {
    v1::SchemeCuts sc;
    if (scheme.kind != engine::SchemeKind::kThresholds) {
      for (size_t b = 0; b < scheme.boundaries.size(); ++b) *sc.add_cuts() = cuts[t++];
    }
    scheme_cuts.push_back(std::move(sc));
  }
  std::vector<v1::AssignResponse> assigned(job.active.size());
  TS_RETURN_IF_ERROR(ForEachWorker(job, [&](WorkerClient& worker, const std::vector<int32_t>& splits,
                                            size_t a) -> absl::Status {
    v1::AssignRequest req;
    req.set_job_id(job.outcome.job_id);
    for (int32_t s : splits) req.add_splits(s);
    for (const auto& sc : scheme_cuts) *req.add_schemes() = sc;
    TS_ASSIGN_OR_RETURN(assigned[a], worker.Assign(req, Deadline()));
    return absl::OkStatus();
  }));

  v1::JobResult& result = job.outcome.result;
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
  }
  engine::GroupedState kpis(compiled.kpis.sets.size());
  for (const v1::AssignResponse& r : assigned) kpis.MergeProto(r.kpis(), compiled.kpis.metrics.size());
  *result.mutable_kpis() = engine::FinalizeKpis(compiled.kpis, policy, std::move(kpis));
  return absl::OkStatus();
}

absl::Status JobRunner::ExportResults(
    const JobOutcome& outcome, bool explain,
    const std::function<absl::Status(const std::string&)>& sink) {
  // A pipeline: up to `window` splits are being formatted by workers while
  // the sink writes the oldest one, so formatting and writing overlap.
  const size_t window = static_cast<size_t>(std::max(1, options_.export_calls_per_worker)) *
                        workers_.size();
  auto fetch = [&](size_t split) {
    return std::async(std::launch::async, [&, split]() -> absl::StatusOr<v1::ExportResponse> {
      v1::ExportRequest req;
      req.set_job_id(outcome.job_id);
      req.set_split_index(static_cast<int32_t>(split));
      req.set_explain(explain);
      return workers_[static_cast<size_t>(outcome.split_worker[split])]->Export(req, Deadline());
    });
  };
  std::deque<std::future<absl::StatusOr<v1::ExportResponse>>> in_flight;
  size_t next = 0;
  absl::Status status;
  while (next < outcome.splits.size() || !in_flight.empty()) {
    while (status.ok() && next < outcome.splits.size() && in_flight.size() < window) {
      in_flight.push_back(fetch(next++));
    }
    if (in_flight.empty()) break;
    absl::StatusOr<v1::ExportResponse> chunk = in_flight.front().get();
    in_flight.pop_front();
    if (!status.ok()) continue;  // drain what is in flight, then report
    status = chunk.ok() ? sink(chunk->csv()) : chunk.status();
  }
  return status;
}

void JobRunner::Release(const std::string& job_id) {
  v1::ReleaseRequest req;
  req.set_job_id(job_id);
  // Best effort: a worker that is gone has nothing left to free.
  FanOut(static_cast<int>(workers_.size()), [&](int w) {
    return workers_[static_cast<size_t>(w)]->Release(req, Deadline());
  }).IgnoreError();
}

}  // namespace tierscore::coordinator

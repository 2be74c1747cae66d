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

absl::StatusOr<std::vector<v1::Split>> JobRunner::PlanSplits(
    const v1::JobSpec& spec, const engine::CompiledJob& job) {
  if (spec.inputs_size() == 0) {
    return absl::InvalidArgumentError("inputs: at least one input file is required");
  }
  const int64_t split_bytes = spec.split_bytes() > 0 ? spec.split_bytes() : options_.split_bytes;
  absl::flat_hash_set<std::string> seen;
  std::vector<v1::Split> splits;
  const int nw = static_cast<int>(workers_.size());
  for (int f = 0; f < spec.inputs_size(); ++f) {
    const std::string& path = spec.inputs(f);
    if (!seen.insert(path).second) {
      return absl::InvalidArgumentError(absl::StrCat("inputs[", f, "]: ", path, " is listed twice"));
    }
    v1::ScanRequest head;
    head.set_path(path);
    TS_ASSIGN_OR_RETURN(v1::ScanResponse scan, workers_[static_cast<size_t>(f % nw)]->Scan(head, Deadline()));
    std::vector<std::string> columns(scan.header().begin(), scan.header().end());
    TS_RETURN_IF_ERROR(engine::CheckHeader(job, path, columns));
    engine::CsvHeader header;
    header.columns = columns;
    header.data_begin = scan.header_end();
    header.file_size = scan.file_size();
    header.gzip = scan.gzip();
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

absl::StatusOr<JobOutcome> JobRunner::Run(const std::string& job_id,
                                          const v1::JobSpec& spec,
                                          const ProgressFn& progress) {
  JobOutcome outcome;
  outcome.job_id = job_id;
  TS_ASSIGN_OR_RETURN(outcome.compiled, engine::CompileJob(spec.policy(), spec.kpis()));
  const engine::CompiledJob& job = *outcome.compiled;
  const engine::CompiledPolicy& policy = job.policy;
  JobProgress state;
  absl::Mutex progress_mu;
  v1::JobStats& job_stats = *outcome.result.mutable_stats();
  absl::Time phase_start = absl::Now();
  // Closes the running phase (if any) in the stats and reports the next.
  auto report = [&](const std::string& phase) {
    const absl::Time now = absl::Now();
    if (!state.phase.empty()) {
      auto* p = job_stats.add_phases();
      p->set_name(state.phase);
      p->set_seconds(absl::ToDoubleSeconds(now - phase_start));
    }
    phase_start = now;
    state.phase = phase;
    if (progress) progress(state);
  };

  report("plan");
  TS_ASSIGN_OR_RETURN(outcome.splits, PlanSplits(spec, job));
  const size_t nw = workers_.size();
  state.splits_total = static_cast<int>(outcome.splits.size());

  // Place splits: largest first onto the least loaded worker.
  std::vector<std::vector<int32_t>> placed(nw);
  {
    std::vector<int64_t> load(nw, 0);
    std::vector<int> order(outcome.splits.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    auto size_of = [&](int i) {
      return outcome.splits[static_cast<size_t>(i)].end() - outcome.splits[static_cast<size_t>(i)].begin();
    };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return size_of(a) > size_of(b); });
    outcome.split_worker.assign(outcome.splits.size(), 0);
    for (int i : order) {
      const size_t w = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      load[w] += size_of(i);
      outcome.split_worker[static_cast<size_t>(i)] = static_cast<int>(w);
    }
    for (size_t i = 0; i < outcome.splits.size(); ++i) {
      placed[static_cast<size_t>(outcome.split_worker[i])].push_back(static_cast<int32_t>(i));
    }
  }
  std::vector<int> active;  // workers holding splits
  for (size_t w = 0; w < nw; ++w) {
    if (!placed[w].empty()) active.push_back(static_cast<int>(w));
  }

  // Load + stats: one call per split, several at a time per worker.
  report("load");
  std::vector<engine::CriterionStatsAcc> stats(policy.criteria.size());
  {
    int per_worker = options_.load_calls_per_worker > 0
                         ? options_.load_calls_per_worker
                         : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::atomic<size_t>> next(nw);
    std::atomic<bool> failed{false};
    std::vector<std::pair<int, int>> lanes;  // (worker, lane)
    for (int w : active) {
      const int lanes_here = std::min<int>(per_worker, static_cast<int>(placed[static_cast<size_t>(w)].size()));
      for (int l = 0; l < lanes_here; ++l) lanes.emplace_back(w, l);
    }
    TS_RETURN_IF_ERROR(FanOut(static_cast<int>(lanes.size()), [&](int lane) -> absl::Status {
      const size_t w = static_cast<size_t>(lanes[static_cast<size_t>(lane)].first);
      while (!failed.load()) {
        const size_t i = next[w].fetch_add(1);
        if (i >= placed[w].size()) break;
        v1::LoadRequest req;
        req.set_job_id(job_id);
        *req.mutable_spec() = spec;
        *req.add_splits() = outcome.splits[static_cast<size_t>(placed[w][i])];
        auto resp = workers_[w]->Load(req, Deadline());
        if (!resp.ok()) {
          failed = true;
          return resp.status();
        }
        absl::MutexLock lock(&progress_mu);
        for (size_t c = 0; c < stats.size() && static_cast<int>(c) < resp->stats_size(); ++c) {
          stats[c].Merge(engine::CriterionStatsAcc::FromProto(resp->stats(static_cast<int>(c))));
        }
        ++state.splits_done;
        state.rows += resp->rows();
        state.bytes += resp->bytes();
        if (progress) progress(state);
      }
      return absl::OkStatus();
    }));
  }

  // Score.
  report("score");
  const std::vector<v1::CriterionParams> params = engine::NormalizationParams(policy, stats);
  int64_t count = 0;
  int128 total_value = 0;
  double min_score = 0, max_score = 0;
  {
    std::vector<v1::ScoreResponse> scored(active.size());
    TS_RETURN_IF_ERROR(FanOut(static_cast<int>(active.size()), [&](int a) -> absl::Status {
      const size_t w = static_cast<size_t>(active[static_cast<size_t>(a)]);
      v1::ScoreRequest req;
      req.set_job_id(job_id);
      for (int32_t s : placed[w]) req.add_splits(s);
      for (const auto& p : params) *req.add_criteria() = p;
      TS_ASSIGN_OR_RETURN(scored[static_cast<size_t>(a)], workers_[w]->Score(req, Deadline()));
      return absl::OkStatus();
    }));
    bool first = true;
    for (const v1::ScoreResponse& r : scored) {
      count += r.count();
      total_value += engine::FromProto(r.value_total());
      if (r.count() == 0) continue;
      min_score = first ? r.min_score() : std::min(min_score, r.min_score());
      max_score = first ? r.max_score() : std::max(max_score, r.max_score());
      first = false;
    }
  }

  // Cut-point search.
  report("search");
  std::vector<CutTarget> targets;
  for (const engine::CompiledScheme& scheme : policy.schemes) {
    if (scheme.kind == engine::SchemeKind::kThresholds) continue;
    const bool by_value = scheme.kind == engine::SchemeKind::kPareto;
    for (double b : scheme.boundaries) {
      targets.push_back({by_value, engine::ShareThreshold(
                                       b, by_value ? total_value : static_cast<int128>(count))});
    }
  }
  ProbeFn probe = [&](const std::vector<v1::Probe>& probes)
      -> absl::StatusOr<std::vector<v1::ProbeResult>> {
    std::vector<v1::ProbeResponse> responses(active.size());
    TS_RETURN_IF_ERROR(FanOut(static_cast<int>(active.size()), [&](int a) -> absl::Status {
      const size_t w = static_cast<size_t>(active[static_cast<size_t>(a)]);
      v1::ProbeRequest req;
      req.set_job_id(job_id);
      for (int32_t s : placed[w]) req.add_splits(s);
      for (const auto& p : probes) *req.add_probes() = p;
      TS_ASSIGN_OR_RETURN(responses[static_cast<size_t>(a)], workers_[w]->Probe(req, Deadline()));
      if (responses[static_cast<size_t>(a)].results_size() != static_cast<int>(probes.size())) {
        return absl::InternalError(absl::StrCat(workers_[w]->name(), ": wrong number of probe results"));
      }
      return absl::OkStatus();
    }));
    std::vector<v1::ProbeResult> merged;
    for (auto& r : responses) MergeResults(merged, std::move(r));
    for (auto& m : merged) {
      std::sort(m.mutable_sample()->begin(), m.mutable_sample()->end());
    }
    return merged;
  };
  TS_ASSIGN_OR_RETURN(std::vector<v1::CutKey> cuts,
                      FindCuts(targets, count, total_value, min_score, max_score, probe,
                               options_.cut_search, &outcome.search));

  // Assign + aggregate.
  report("assign");
  std::vector<v1::SchemeCuts> scheme_cuts;
  {
    size_t t = 0;
    for (const engine::CompiledScheme& scheme : policy.schemes) {
      v1::SchemeCuts sc;
      if (scheme.kind != engine::SchemeKind::kThresholds) {
        for (size_t b = 0; b < scheme.boundaries.size(); ++b) *sc.add_cuts() = cuts[t++];
      }
      scheme_cuts.push_back(std::move(sc));
    }
  }
  std::vector<v1::AssignResponse> assigned(active.size());
  TS_RETURN_IF_ERROR(FanOut(static_cast<int>(active.size()), [&](int a) -> absl::Status {
    const size_t w = static_cast<size_t>(active[static_cast<size_t>(a)]);
    v1::AssignRequest req;
    req.set_job_id(job_id);
    for (int32_t s : placed[w]) req.add_splits(s);
    for (const auto& sc : scheme_cuts) *req.add_schemes() = sc;
    TS_ASSIGN_OR_RETURN(assigned[static_cast<size_t>(a)], workers_[w]->Assign(req, Deadline()));
    return absl::OkStatus();
  }));

  engine::GroupedState kpis(job.kpis.sets.size());
  for (size_t s = 0; s < policy.schemes.size(); ++s) {
    const size_t tiers = policy.schemes[s].names.size();
    std::vector<int64_t> customers(tiers, 0);
    std::vector<int128> values(tiers, 0);
    for (const v1::AssignResponse& r : assigned) {
      const v1::TierTotals& totals = r.tiers(static_cast<int>(s));
      for (size_t t = 0; t < tiers; ++t) {
        customers[t] += totals.customers(static_cast<int>(t));
        values[t] += engine::FromProto(totals.value(static_cast<int>(t)));
      }
    }
    *outcome.result.add_tiers() = engine::BuildTierSummary(policy.schemes[s], customers, values);
  }
  for (const v1::AssignResponse& r : assigned) kpis.MergeProto(r.kpis(), job.kpis.metrics.size());
  outcome.result.set_customers(count);
  outcome.result.set_total_value(engine::MicrosToValue(total_value));
  *outcome.result.mutable_kpis() = engine::FinalizeKpis(job.kpis, policy, std::move(kpis));
  job_stats.set_splits(static_cast<int32_t>(outcome.splits.size()));
  job_stats.set_bytes(state.bytes);
  job_stats.set_search_rounds(outcome.search.rounds);
  job_stats.set_search_items_fetched(outcome.search.items_fetched);
  report("done");
  return outcome;
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

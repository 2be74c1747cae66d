#include "worker/worker_core.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/run_store.h"
#include "common/status_macros.h"
#include "engine/duplicates.h"
#include "engine/int128.h"
#include "engine/kpi.h"
#include "engine/position.h"
#include "engine/results_csv.h"
#include "engine/standing.h"
#include "engine/tiering.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "worker/wire.h"

namespace tierscore::worker {

using engine::int128;

namespace {

// Where a shard's customers stood in the alias's previous run, after an
// Assign given one (else empty), [scheme][row]: the tier held there (-1:
// new), and, when some scheme has downgrade protection, the tier the score
// earns and the runs it has been below the tier held.
struct Standing {
  std::vector<std::vector<int16_t>> previous_tiers;
  std::vector<std::vector<uint8_t>> earned_tiers;
  std::vector<std::vector<uint16_t>> runs_below;
};

}  // namespace

struct WorkerCore::Shard {
  v1::Split split;
  engine::Table table;
  std::vector<double> scores;               // after Score
  std::vector<int64_t> values;              // after Score, micro-units
  std::vector<std::vector<uint8_t>> tiers;  // after Assign, [scheme][row]
  Standing standing;                        // likewise
};

// The rows that matched the last Probe request, per shard. The cut search
// only ever narrows ranges, so a request whose ranges all lie inside the
// last ones needs to look at these rows only.
struct ProbeCandidates {
  std::vector<int32_t> splits;
  std::vector<v1::KeyRange> ranges;
  std::vector<std::vector<uint32_t>> rows;  // per split, in `splits` order
};

struct WorkerCore::Job {
  std::atomic<int64_t> last_call_ns{absl::GetCurrentTimeNanos()};  // for the lease
  std::shared_ptr<const engine::CompiledJob> compiled;
  std::string spec_key;  // the serialised policy and KPI spec
  absl::Mutex mu;
  std::map<int, std::shared_ptr<Shard>> shards ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, engine::CsvHeader> headers ABSL_GUARDED_BY(mu);
  std::shared_ptr<const engine::Scorer> scorer ABSL_GUARDED_BY(mu);
  std::shared_ptr<const ProbeCandidates> candidates ABSL_GUARDED_BY(mu);
  std::vector<std::vector<engine::CutKey>> cuts ABSL_GUARDED_BY(mu);           // after Assign
  std::shared_ptr<const engine::PositionTable> positions ABSL_GUARDED_BY(mu);  // likewise
};

namespace {

// Runs fn(i) for every i on the pool and returns the first error by index,
// so that the reported error does not depend on thread timing.
absl::Status ParallelStatus(engine::ThreadPool& pool, int n,
                            const std::function<absl::Status(int)>& fn) {
  std::vector<absl::Status> statuses(static_cast<size_t>(n));
  pool.ParallelFor(n, [&](int i) { statuses[static_cast<size_t>(i)] = fn(i); });
  for (const absl::Status& st : statuses) TS_RETURN_IF_ERROR(st);
  return absl::OkStatus();
}

// The most splits a job's duplicate-id check cuts ids for (LoadRequest.
// split_count): a Load keeps a counter per target.
constexpr int32_t kMaxSplitCount = 1 << 20;

// Removes the rows the split leaves out, checked to be ascending rows of it.
absl::Status DropSkippedRows(const v1::Split& split, engine::Table* table) {
  const std::vector<int32_t> rows(split.skip_rows().begin(), split.skip_rows().end());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= table->rows || (i > 0 && rows[i] <= rows[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("split ", split.index(), ": skip_rows[", i, "] = ", rows[i],
                       " is not an ascending row of the split (", table->rows, " rows)"));
    }
  }
  engine::RemoveRows(rows, table);
  return absl::OkStatus();
}

// INVALID_ARGUMENT unless `list` has a row per id and its ends ascend
// within its ids.
absl::Status CheckIdList(const v1::IdList& list, const std::string& field) {
  if (list.ends_size() != list.rows_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", list.ends_size(), " ends but ", list.rows_size(), " rows"));
  }
  size_t begin = 0;
  for (int i = 0; i < list.ends_size(); ++i) {
    const size_t end = list.ends(i);
    if (end < begin || end > list.ids().size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".ends[", i, "]: ", end, " is not within [", begin, ", ", list.ids().size(), "]"));
    }
    begin = end;
  }
  return absl::OkStatus();
}

// A split's ids cut into one list per target split that has any.
std::vector<v1::IdList> CutIds(int32_t split, const engine::IdColumn& ids, int32_t targets) {
  const size_t n = ids.size();
  std::vector<int32_t> target(n);
  std::vector<int32_t> slot(static_cast<size_t>(targets), -1);
  std::vector<v1::IdList> lists;
  std::vector<size_t> bytes;
  for (size_t i = 0; i < n; ++i) {
    const int32_t t = engine::IdTarget(ids[i], targets);
    target[i] = t;
    int32_t& k = slot[static_cast<size_t>(t)];
    if (k < 0) {
      k = static_cast<int32_t>(lists.size());
      lists.emplace_back().set_split(split);
      lists.back().set_target(t);
      bytes.push_back(0);
    }
    bytes[static_cast<size_t>(k)] += ids[i].size();
  }
  for (size_t k = 0; k < lists.size(); ++k) lists[k].mutable_ids()->reserve(bytes[k]);
  for (size_t i = 0; i < n; ++i) {
    v1::IdList& list = lists[static_cast<size_t>(slot[static_cast<size_t>(target[i])])];
    list.mutable_ids()->append(ids[i]);
    list.add_ends(static_cast<uint32_t>(list.ids().size()));
    list.add_rows(static_cast<int32_t>(i));
  }
  return lists;
}

bool InRange(const v1::KeyRange& r, double score, std::string_view id) {
  if (score < r.score_lo() || score > r.score_hi()) return false;
  if (!r.id_bounded()) return true;
  if (!r.id_after().empty() && !(id > std::string_view(r.id_after()))) return false;
  if (!r.id_upto().empty() && id > std::string_view(r.id_upto())) return false;
  return true;
}

// True when every key in `inner` is also in `outer`.
bool Within(const v1::KeyRange& inner, const v1::KeyRange& outer) {
  if (inner.score_lo() < outer.score_lo() || inner.score_hi() > outer.score_hi()) return false;
  if (!outer.id_bounded()) return true;
  if (!inner.id_bounded()) return false;  // outer is one tied score, inner all of it
  const bool after_ok = outer.id_after().empty() ||
                        (!inner.id_after().empty() && inner.id_after() >= outer.id_after());
  const bool upto_ok =
      outer.id_upto().empty() || (!inner.id_upto().empty() && inner.id_upto() <= outer.id_upto());
  return after_ok && upto_ok;
}

struct PartialBucket {
  int64_t count = 0;
  int128 value = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  void Merge(const PartialBucket& o) {
    count += o.count;
    value += o.value;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }
};

struct PartialProbe {
  std::vector<PartialBucket> buckets;
  std::vector<std::string_view> ids;  // sample candidates
  std::vector<v1::Item> items;        // fetch
};

// A shard's rows as probes read them.
struct ShardRows {
  const std::vector<double>& scores;
  const engine::IdColumn& ids;
  const std::vector<int64_t>& values;
};

// FAILED_PRECONDITION unless every shard has its scores.
template <typename Shard>
absl::Status CheckScored(const std::vector<std::shared_ptr<Shard>>& shards) {
  for (const auto& shard : shards) {
    if (shard->scores.size() != static_cast<size_t>(shard->table.rows)) {
      return absl::FailedPreconditionError(
          absl::StrCat("split ", shard->split.index(), " is not scored yet"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckProbes(const v1::ProbeRequest& request) {
  for (int p = 0; p < request.probes_size(); ++p) {
    const v1::Probe& probe = request.probes(p);
    if (probe.score_bins() < 0 || probe.score_bins() > (1 << 16) || probe.sample() < 0 ||
        probe.sample() > (1 << 16)) {
      return absl::InvalidArgumentError(absl::StrCat("probe ", p, ": bad size"));
    }
  }
  return absl::OkStatus();
}

// Whether `request` asks about the same splits as `previous`, within its
// ranges: then only the rows that matched it need a look.
bool Narrows(const ProbeCandidates* previous, const v1::ProbeRequest& request,
             const std::vector<int32_t>& splits) {
  if (previous == nullptr || previous->splits != splits) return false;
  for (const v1::Probe& p : request.probes()) {
    bool inside = false;
    for (const v1::KeyRange& r : previous->ranges) inside |= Within(p.range(), r);
    if (!inside) return false;
  }
  return true;
}

// Adds a row (with score `s`, inside the probe's range) to the probe's
// partial answer: the item, a sample candidate, or a histogram bucket.
void AddToProbe(const v1::Probe& probe, double lo, double hi, const ShardRows& shard, size_t row,
                double s, std::string_view id, PartialProbe& part) {
  if (probe.fetch()) {
    v1::Item item;
    item.set_score(s);
    item.set_id(std::string(id));
    item.set_value(shard.values[row]);
    part.items.push_back(std::move(item));
    return;
  }
  if (probe.sample() > 0) {
    part.ids.push_back(id);
    return;
  }
  int b;
  if (probe.score_bins() > 0) {
    b = engine::ScoreBin(s, lo, hi, probe.score_bins());
  } else {
    const auto& sp = probe.id_splitters();
    b = static_cast<int>(std::lower_bound(sp.begin(), sp.end(), id,
                                          [](const std::string& a, std::string_view v) {
                                            return std::string_view(a) < v;
                                          }) -
                         sp.begin());
  }
  PartialBucket& bucket = part.buckets[static_cast<size_t>(b)];
  ++bucket.count;
  bucket.value += shard.values[row];
  bucket.min = std::min(bucket.min, s);
  bucket.max = std::max(bucket.max, s);
}

// One pass over a shard's rows (or only its `candidates`, when not null)
// answers every probe: the score bounds are checked first, so most rows
// cost a few comparisons. Rows that match any probe go to `matched` while
// they are at most a quarter of the shard (past that they are not worth
// keeping).
void ScanShard(const v1::ProbeRequest& request, const ShardRows& shard,
               const std::vector<uint32_t>* candidates, std::vector<uint32_t>& matched,
               std::vector<PartialProbe>& out) {
  const int np = request.probes_size();
  for (int p = 0; p < np; ++p) {
    const v1::Probe& probe = request.probes(p);
    out[static_cast<size_t>(p)].buckets.resize(static_cast<size_t>(
        probe.score_bins() > 0 ? probe.score_bins() : probe.id_splitters_size() + 1));
  }
  const size_t rows = candidates != nullptr ? candidates->size() : shard.scores.size();
  const size_t keep_limit = shard.scores.size() / 4;
  bool keeping = true;
  for (size_t k = 0; k < rows; ++k) {
    const size_t row = candidates != nullptr ? (*candidates)[k] : k;
    const double s = shard.scores[row];
    bool any = false;
    for (int p = 0; p < np; ++p) {
      const v1::KeyRange& range = request.probes(p).range();
      if (s < range.score_lo() || s > range.score_hi()) continue;
      const std::string_view id = shard.ids[row];
      if (!InRange(range, s, id)) continue;
      if (!any && keeping) {
        matched.push_back(static_cast<uint32_t>(row));
        keeping = matched.size() <= keep_limit;
      }
      any = true;
      AddToProbe(request.probes(p), range.score_lo(), range.score_hi(), shard, row, s, id,
                 out[static_cast<size_t>(p)]);
    }
  }
}

// The answer to probe `p`, merged from every shard's partial answer.
void MergeProbe(const v1::Probe& probe, size_t p, std::vector<std::vector<PartialProbe>>& partial,
                v1::ProbeResult* result) {
  if (probe.fetch()) {
    for (auto& part : partial) {
      for (auto& item : part[p].items) *result->add_items() = std::move(item);
    }
    return;
  }
  if (probe.sample() > 0) {
    std::vector<std::string_view> ids;
    for (auto& part : partial) ids.insert(ids.end(), part[p].ids.begin(), part[p].ids.end());
    std::sort(ids.begin(), ids.end());
    const size_t k = std::min<size_t>(static_cast<size_t>(probe.sample()), ids.size());
    for (size_t i = 0; i < k; ++i) result->add_sample(std::string(ids[(i * ids.size()) / k]));
    return;
  }
  std::vector<PartialBucket> merged(partial.empty() ? 0 : partial[0][p].buckets.size());
  for (auto& part : partial) {
    for (size_t b = 0; b < merged.size(); ++b) merged[b].Merge(part[p].buckets[b]);
  }
  for (const PartialBucket& b : merged) {
    v1::Bucket* out = result->add_buckets();
    out->set_count(b.count);
    engine::ToProto(b.value, out->mutable_value());
    if (b.count > 0) {
      out->set_min_score(b.min);
      out->set_max_score(b.max);
    }
  }
}

// Reads the previous run's records of `ids` and calls fn(row, record or
// null) for each. In bucket order, so that each bucket hash is read with
// one command for all the rows it holds, and in batches, so that memory
// stays bounded.
absl::Status ForEachPriorRecord(common::Store* store, const v1::RunMeta& run,
                                const engine::IdColumn& ids, size_t rows,
                                const std::function<void(size_t, const v1::TierRecord*)>& fn) {
  std::vector<std::pair<int, uint32_t>> order(rows);  // (bucket, row)
  for (size_t row = 0; row < rows; ++row) {
    order[row] = {common::RunStore::BucketOf(ids[row], run.buckets()), static_cast<uint32_t>(row)};
  }
  std::sort(order.begin(), order.end());
  common::RunStore runs(store);
  constexpr size_t kBatch = 20000;
  std::vector<std::string> batch;
  for (size_t begin = 0; begin < rows; begin += kBatch) {
    const size_t end = std::min(rows, begin + kBatch);
    batch.clear();
    for (size_t k = begin; k < end; ++k) batch.emplace_back(ids[order[k].second]);
    auto records = runs.Lookup(run, batch);
    if (!records.ok()) {
      return absl::AbortedError(absl::StrCat("store: reading the previous run ", run.run_id(), ": ",
                                             records.status().message()));
    }
    for (size_t k = begin; k < end; ++k) {
      const auto& r = (*records)[k - begin];
      fn(order[k].second, r.has_value() ? &*r : nullptr);
    }
  }
  return absl::OkStatus();
}

// Reads the previous run's records of a shard's customers and applies
// them: previous tiers, downgrade protection (which may raise `tiers`, the
// earned tiers on entry) and the migration counts. A store that cannot be
// read is ABORTED.
absl::Status ApplyPreviousRun(common::Store* store, const v1::RunMeta& run,
                              const std::vector<engine::PriorScheme>& prior,
                              const std::vector<engine::CompiledScheme>& schemes,
                              const engine::IdColumn& ids, const std::vector<int64_t>& values,
                              std::vector<std::vector<uint8_t>>* tiers, Standing* standing,
                              std::vector<engine::MigrationAcc>* migration) {
  const size_t rows = ids.size();
  const bool any_protection = std::any_of(prior.begin(), prior.end(),
                                          [](const engine::PriorScheme& p) { return p.protect; });
  *standing = {};
  standing->previous_tiers.assign(schemes.size(), std::vector<int16_t>(rows, -1));
  if (any_protection) {
    standing->earned_tiers = *tiers;
    standing->runs_below.assign(schemes.size(), std::vector<uint16_t>(rows, 0));
  }
  return ForEachPriorRecord(store, run, ids, rows, [&](size_t row, const v1::TierRecord* record) {
    for (size_t s = 0; s < schemes.size(); ++s) {
      const engine::PriorScheme& p = prior[s];
      if (p.index < 0) continue;
      const int earned = (*tiers)[s][row];
      const engine::Standing before =
          record != nullptr ? engine::PriorStanding(*record, p.index) : engine::Standing{};
      if (record == nullptr || before.tier < 0 || before.tier >= p.tiers) {
        (*migration)[s].AddNew(earned, values[row]);  // new (or a record we cannot read)
        continue;
      }
      standing->previous_tiers[s][row] = static_cast<int16_t>(before.tier);
      engine::Standing now{earned, 0};
      if (p.protect) now = engine::Protect(schemes[s].protection, earned, &before);
      if (any_protection) {
        standing->runs_below[s][row] = static_cast<uint16_t>(std::min(now.runs_below, 65535));
      }
      (*tiers)[s][row] = static_cast<uint8_t>(now.tier);
      (*migration)[s].Add(before.tier, now.tier, values[row], record->value_micros(),
                          now.tier != earned);
    }
  });
}

// INVALID_ARGUMENT unless the request has as many cuts per scheme as the
// scheme's rule needs.
absl::Status CheckCuts(const v1::AssignRequest& request,
                       const std::vector<engine::CompiledScheme>& schemes) {
  if (request.schemes_size() != static_cast<int>(schemes.size())) {
    return absl::InvalidArgumentError(absl::StrCat("expected cuts for ", schemes.size(),
                                                   " tier schemes, got ", request.schemes_size()));
  }
  for (size_t s = 0; s < schemes.size(); ++s) {
    const int want = schemes[s].CutCount();
    if (request.schemes(static_cast<int>(s)).cuts_size() != want) {
      return absl::InvalidArgumentError(
          absl::StrCat("tier scheme ", schemes[s].name, ": expected ", want, " cuts"));
    }
  }
  return absl::OkStatus();
}

// The tiers a shard's scores earn, [scheme][row].
std::vector<std::vector<uint8_t>> EarnedTiers(
    const std::vector<std::vector<engine::CutKey>>& scheme_cuts,
    const std::vector<engine::CompiledScheme>& schemes, const ShardRows& shard) {
  const size_t rows = shard.scores.size();
  std::vector<std::vector<uint8_t>> tiers(schemes.size(), std::vector<uint8_t>(rows));
  for (size_t s = 0; s < schemes.size(); ++s) {
    const std::vector<engine::CutKey>& cuts = scheme_cuts[s];
    for (size_t row = 0; row < rows; ++row) {
      const double score = shard.scores[row];
      const std::string_view id = shard.ids[row];
      tiers[s][row] = static_cast<uint8_t>(schemes[s].Tier(
          score, [&](int k) { return engine::PastCut(cuts[static_cast<size_t>(k)], score, id); }));
    }
  }
  return tiers;
}

// What one shard's assignment adds up to: customers and value per scheme
// and tier, KPI states, and the migration from the previous run.
struct ShardTotals {
  std::vector<std::vector<int64_t>> customers;  // [scheme][tier]
  std::vector<std::vector<int128>> values;      // likewise, micro-units
  engine::GroupedState kpis{0};
  std::vector<engine::MigrationAcc> migration;  // per scheme
};

void CountTiers(const std::vector<engine::CompiledScheme>& schemes,
                const std::vector<std::vector<uint8_t>>& tiers, const std::vector<int64_t>& values,
                ShardTotals& out) {
  out.customers.resize(schemes.size());
  out.values.resize(schemes.size());
  for (size_t s = 0; s < schemes.size(); ++s) {
    out.customers[s].assign(schemes[s].names.size(), 0);
    out.values[s].assign(schemes[s].names.size(), 0);
    for (size_t row = 0; row < values.size(); ++row) {
      const size_t tier = tiers[s][row];
      ++out.customers[s][tier];
      out.values[s][tier] += values[row];
    }
  }
}

// The shards' totals merged into the reply; migration only against a prior.
v1::AssignResponse MergeAssigned(const engine::CompiledJob& compiled,
                                 const std::vector<engine::PriorScheme>* prior,
                                 const std::vector<ShardTotals>& parts) {
  const auto& schemes = compiled.policy.schemes;
  v1::AssignResponse response;
  for (size_t s = 0; s < schemes.size(); ++s) {
    v1::TierTotals* totals = response.add_tiers();
    for (size_t t = 0; t < schemes[s].names.size(); ++t) {
      int64_t c = 0;
      int128 v = 0;
      for (const ShardTotals& part : parts) {
        c += part.customers[s][t];
        v += part.values[s][t];
      }
      totals->add_customers(c);
      engine::ToProto(v, totals->add_value());
    }
  }
  engine::GroupedState merged(compiled.kpis.sets.size());
  for (const ShardTotals& part : parts) merged.Merge(part.kpis);
  merged.ToProto(response.mutable_kpis());
  if (prior == nullptr) return response;
  for (size_t s = 0; s < schemes.size(); ++s) {
    v1::MigrationState* out = response.add_migration();
    if ((*prior)[s].index < 0) continue;
    engine::MigrationAcc all((*prior)[s].tiers, static_cast<int>(schemes[s].names.size()));
    for (const ShardTotals& part : parts) all.Merge(part.migration[s]);
    all.ToProto(out);
  }
  return response;
}
}  // namespace

std::unique_ptr<WorkerCore> WorkerCore::Create(const Options& options) {
  return std::unique_ptr<WorkerCore>(new WorkerCore(options));
}

WorkerCore::WorkerCore(const Options& options)
    : pool_(options.threads),
      store_(options.store),
      data_roots_(options.data_roots),
      max_decompressed_bytes_(options.max_decompressed_bytes) {}

size_t WorkerCore::JobCount() const {
  absl::MutexLock lock(&mu_);
  return jobs_.size();
}

absl::StatusOr<std::shared_ptr<WorkerCore::Job>> WorkerCore::FindJob(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second->last_call_ns = absl::GetCurrentTimeNanos();
  if (it == jobs_.end()) {
    // Not final: the coordinator loads the job's splits here and retries.
    return absl::FailedPreconditionError(absl::StrCat("job ", id, " is not loaded on this worker"));
  }
  return it->second;
}

absl::StatusOr<std::vector<std::shared_ptr<WorkerCore::Shard>>> WorkerCore::Shards(
    Job& job, const google::protobuf::RepeatedField<int32_t>& splits) {
  std::vector<std::shared_ptr<Shard>> out;
  absl::MutexLock lock(&job.mu);
  for (int32_t s : splits) {
    auto it = job.shards.find(s);
    if (it == job.shards.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("split ", s, " is not loaded on this worker"));
    }
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<v1::ScanResponse> WorkerCore::Scan(const v1::ScanRequest& request) {
  TS_RETURN_IF_ERROR(data_roots_.Check(request.path(), "path"));
  TS_ASSIGN_OR_RETURN(engine::CsvHeader header, engine::ReadHeader(request.path()));
  v1::ScanResponse response;
  for (const std::string& c : header.columns) response.add_header(c);
  response.set_header_end(header.data_begin);
  response.set_file_size(header.file_size);
  response.set_mtime_ns(header.mtime_ns);
  response.set_gzip(header.gzip);
  if (header.gzip && request.ranges_size() > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(request.path(), ": a gzip file cannot be scanned in ranges"));
  }
  std::vector<engine::RangeScan> scans(static_cast<size_t>(request.ranges_size()));
  TS_RETURN_IF_ERROR(ParallelStatus(pool_, request.ranges_size(), [&](int i) -> absl::Status {
    const engine::ByteRange r = FromWire(request.ranges(i));
    TS_ASSIGN_OR_RETURN(scans[static_cast<size_t>(i)],
                        engine::ScanRange(request.path(), r.begin, r.end));
    return absl::OkStatus();
  }));
  for (const engine::RangeScan& s : scans) ToWire(s, response.add_ranges());
  return response;
}

absl::StatusOr<v1::LoadResponse> WorkerCore::Load(const v1::LoadRequest& request) {
  const std::string key = engine::ComputationKey(request.spec());
  std::shared_ptr<Job> job;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(request.job_id());
    if (it != jobs_.end()) job = it->second;
  }
  if (job != nullptr) job->last_call_ns = absl::GetCurrentTimeNanos();
  if (job != nullptr && job->spec_key != key) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", request.job_id(), " is already loaded here with a different spec"));
  }
  if (job == nullptr) {
    auto fresh = std::make_shared<Job>();
    TS_ASSIGN_OR_RETURN(fresh->compiled,
                        engine::CompileJob(request.spec().policy(), request.spec().kpis()));
    fresh->spec_key = key;
    absl::MutexLock lock(&mu_);
    job = jobs_.try_emplace(request.job_id(), std::move(fresh)).first->second;
  }
  const engine::CompiledJob& compiled = *job->compiled;

  // Headers are read once per file and job.
  std::vector<engine::CsvHeader> headers;
  for (const v1::Split& split : request.splits()) {
    absl::MutexLock lock(&job->mu);
    auto it = job->headers.find(split.path());
    if (it == job->headers.end()) {
      TS_RETURN_IF_ERROR(data_roots_.Check(split.path(), "split.path"));
      TS_ASSIGN_OR_RETURN(engine::CsvHeader h, engine::ReadHeader(split.path()));
      TS_RETURN_IF_ERROR(engine::CheckHeader(compiled, split.path(), h.columns));
      it = job->headers.emplace(split.path(), std::move(h)).first;
    }
    headers.push_back(it->second);
  }

  const int n = request.splits_size();
  const int32_t targets = request.split_count();
  if (targets < 0 || targets > kMaxSplitCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("split_count: ", targets, " is not within [0, ", kMaxSplitCount, "]"));
  }
  std::vector<std::shared_ptr<Shard>> shards(static_cast<size_t>(n));
  std::vector<std::vector<engine::CriterionStatsAcc>> stats(static_cast<size_t>(n));
  std::vector<std::vector<v1::IdList>> ids(static_cast<size_t>(n));
  TS_RETURN_IF_ERROR(ParallelStatus(pool_, n, [&](int i) -> absl::Status {
    const size_t k = static_cast<size_t>(i);
    auto shard = std::make_shared<Shard>();
    shard->split = request.splits(i);
    TS_ASSIGN_OR_RETURN(
        shard->table,
        engine::ParseSplit(FromWire(shard->split), headers[k], compiled.policy.id_column,
                           compiled.columns, max_decompressed_bytes_));
    TS_RETURN_IF_ERROR(DropSkippedRows(shard->split, &shard->table));
    if (targets > 0) ids[k] = CutIds(shard->split.index(), shard->table.ids, targets);
    engine::AccumulateStats(compiled.policy, shard->table, &stats[k]);
    shards[k] = std::move(shard);
    return absl::OkStatus();
  }));

  v1::LoadResponse response;
  std::vector<engine::CriterionStatsAcc> merged(compiled.policy.criteria.size());
  int64_t rows = 0, bytes = 0;
  for (int i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    rows += shards[k]->table.rows;
    bytes += shards[k]->split.end() - shards[k]->split.begin();
    for (size_t c = 0; c < merged.size(); ++c) merged[c].Merge(stats[k][c]);
  }
  {
    absl::MutexLock lock(&job->mu);
    for (auto& shard : shards) job->shards[shard->split.index()] = std::move(shard);
  }
  response.set_rows(rows);
  response.set_bytes(bytes);
  for (const auto& s : merged) ToWire(s, response.add_stats());
  for (auto& lists : ids) {
    for (v1::IdList& list : lists) *response.add_ids() = std::move(list);
  }
  return response;
}

absl::StatusOr<v1::CheckIdsResponse> WorkerCore::CheckIds(const v1::CheckIdsRequest& request) {
  // An id's every occurrence is in lists of one target, so targets are
  // checked apart, in parallel.
  std::map<int32_t, std::vector<const v1::IdList*>> by_target;
  for (int l = 0; l < request.ids_size(); ++l) {
    const v1::IdList& list = request.ids(l);
    TS_RETURN_IF_ERROR(CheckIdList(list, absl::StrCat("ids[", l, "]")));
    by_target[list.target()].push_back(&list);
  }
  std::vector<std::vector<const v1::IdList*>> groups;
  for (auto& [target, lists] : by_target) groups.push_back(std::move(lists));
  std::vector<std::vector<engine::DuplicateId>> found(groups.size());
  pool_.ParallelFor(static_cast<int>(groups.size()), [&](int g) {
    size_t n = 0;
    for (const v1::IdList* list : groups[static_cast<size_t>(g)]) n += list->rows_size();
    engine::DuplicateFinder finder(n);
    for (const v1::IdList* list : groups[static_cast<size_t>(g)]) {
      const std::string_view all = list->ids();
      size_t begin = 0;
      for (int i = 0; i < list->ends_size(); ++i) {
        finder.Add(all.substr(begin, list->ends(i) - begin), {list->split(), list->rows(i)});
        begin = list->ends(i);
      }
    }
    found[static_cast<size_t>(g)] = finder.Finish();
  });
  std::vector<engine::DuplicateId> all;
  for (auto& f : found) std::move(f.begin(), f.end(), std::back_inserter(all));
  engine::SortByFirstPlace(all);
  v1::CheckIdsResponse response;
  for (engine::DuplicateId& d : all) {
    v1::DuplicateId& out = *response.add_duplicates();
    out.set_id(std::move(d.id));
    for (const engine::IdPlace& p : d.places) {
      v1::IdPlace& place = *out.add_places();
      place.set_split(p.split);
      place.set_row(p.row);
    }
  }
  return response;
}

absl::StatusOr<v1::ScoreResponse> WorkerCore::Score(const v1::ScoreRequest& request) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, FindJob(request.job_id()));
  TS_ASSIGN_OR_RETURN(auto shards, Shards(*job, request.splits()));
  const engine::CompiledPolicy& policy = job->compiled->policy;
  if (request.criteria_size() != static_cast<int>(policy.criteria.size())) {
    return absl::InvalidArgumentError(absl::StrCat("expected parameters for ",
                                                   policy.criteria.size(), " criteria, got ",
                                                   request.criteria_size()));
  }
  std::vector<engine::CriterionParams> params;
  for (const v1::CriterionParams& p : request.criteria()) params.push_back(FromWire(p));
  auto scorer = std::make_shared<const engine::Scorer>(policy, params);
  const int n = static_cast<int>(shards.size());
  TS_RETURN_IF_ERROR(ParallelStatus(pool_, n, [&](int i) -> absl::Status {
    Shard& shard = *shards[static_cast<size_t>(i)];
    shard.scores.resize(static_cast<size_t>(shard.table.rows));
    absl::Status st = scorer->Score(shard.table, 0, shard.table.rows, shard.scores.data(), nullptr);
    if (st.ok()) st = engine::ComputeValues(policy, shard.table, &shard.values);
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat(shard.split.path(), ": ", st.message()));
    }
    return absl::OkStatus();
  }));
  {
    absl::MutexLock lock(&job->mu);
    job->scorer = scorer;
  }
  v1::ScoreResponse response;
  int64_t count = 0;
  int128 total = 0;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (const auto& shard : shards) {
    count += shard->table.rows;
    for (int64_t v : shard->values) total += v;
    for (double s : shard->scores) {
      lo = std::min(lo, s);
      hi = std::max(hi, s);
    }
  }
  response.set_count(count);
  engine::ToProto(total, response.mutable_value_total());
  response.set_min_score(lo);
  response.set_max_score(hi);
  return response;
}

absl::StatusOr<v1::ProbeResponse> WorkerCore::Probe(const v1::ProbeRequest& request) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, FindJob(request.job_id()));
  TS_ASSIGN_OR_RETURN(auto shards, Shards(*job, request.splits()));
  TS_RETURN_IF_ERROR(CheckScored(shards));
  TS_RETURN_IF_ERROR(CheckProbes(request));
  // Reuse the last request's matches when this one only narrows it.
  std::shared_ptr<const ProbeCandidates> previous;
  {
    absl::MutexLock lock(&job->mu);
    previous = job->candidates;
  }
  const std::vector<int32_t> splits(request.splits().begin(), request.splits().end());
  if (!Narrows(previous.get(), request, splits)) previous.reset();

  const size_t ns = shards.size();
  auto next = std::make_shared<ProbeCandidates>();
  next->splits = splits;
  for (const v1::Probe& p : request.probes()) next->ranges.push_back(p.range());
  next->rows.resize(ns);
  std::vector<std::vector<PartialProbe>> partial(
      ns, std::vector<PartialProbe>(static_cast<size_t>(request.probes_size())));
  pool_.ParallelFor(static_cast<int>(ns), [&](int si) {
    const size_t k = static_cast<size_t>(si);
    const Shard& shard = *shards[k];
    ScanShard(request, ShardRows{shard.scores, shard.table.ids, shard.values},
              previous != nullptr ? &previous->rows[k] : nullptr, next->rows[k], partial[k]);
  });

  // Keep the matches when every shard kept all of its own and they are few
  // enough to be worth keeping.
  size_t kept = 0, total = 0;
  bool complete = true;
  for (size_t si = 0; si < ns; ++si) {
    const size_t shard_rows = static_cast<size_t>(shards[si]->table.rows);
    complete &= next->rows[si].size() <= shard_rows / 4;
    kept += next->rows[si].size();
    total += shard_rows;
  }
  {
    absl::MutexLock lock(&job->mu);
    job->candidates = complete && kept * 4 <= total ? std::move(next) : nullptr;
  }

  v1::ProbeResponse response;
  for (int p = 0; p < request.probes_size(); ++p) {
    MergeProbe(request.probes(p), static_cast<size_t>(p), partial, response.add_results());
  }
  return response;
}

absl::StatusOr<v1::AssignResponse> WorkerCore::Assign(const v1::AssignRequest& request) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, FindJob(request.job_id()));
  TS_ASSIGN_OR_RETURN(auto shards, Shards(*job, request.splits()));
  const engine::CompiledJob& compiled = *job->compiled;
  const auto& schemes = compiled.policy.schemes;
  TS_RETURN_IF_ERROR(CheckCuts(request, schemes));
  TS_RETURN_IF_ERROR(CheckScored(shards));
  const bool has_prior = request.has_prior();
  if (has_prior && store_ == nullptr) {
    return absl::AbortedError("this worker has no store to read the previous run from");
  }
  const std::vector<engine::PriorScheme> prior =
      has_prior ? engine::MatchPrior(compiled.policy, request.prior())
                : std::vector<engine::PriorScheme>(schemes.size());
  const std::vector<std::vector<engine::CutKey>> cuts = FromWire(request.schemes());
  std::vector<ShardTotals> parts(shards.size());
  TS_RETURN_IF_ERROR(ParallelStatus(pool_, static_cast<int>(shards.size()), [&](int si) {
    Shard& shard = *shards[static_cast<size_t>(si)];
    ShardTotals& part = parts[static_cast<size_t>(si)];
    // Earned tiers first: downgrade protection needs them all.
    shard.tiers = EarnedTiers(cuts, schemes, {shard.scores, shard.table.ids, shard.values});
    for (size_t s = 0; s < schemes.size(); ++s) {
      part.migration.emplace_back(std::max(0, prior[s].tiers),
                                  static_cast<int>(schemes[s].names.size()));
    }
    shard.standing = {};
    if (has_prior) {
      TS_RETURN_IF_ERROR(ApplyPreviousRun(store_, request.prior(), prior, schemes, shard.table.ids,
                                          shard.values, &shard.tiers, &shard.standing,
                                          &part.migration));
    }
    CountTiers(schemes, shard.tiers, shard.values, part);
    part.kpis = engine::GroupedState(compiled.kpis.sets.size());
    return engine::AggregateShard(compiled.kpis, compiled.policy, shard.table, shard.tiers,
                                  &part.kpis);
  }));
  {
    absl::MutexLock lock(&job->mu);
    job->cuts = cuts;
    job->positions = std::make_shared<const engine::PositionTable>(FromWire(request.positions()));
  }
  return MergeAssigned(compiled, has_prior ? &prior : nullptr, parts);
}

absl::StatusOr<v1::ExportResponse> WorkerCore::Export(const v1::ExportRequest& request) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, FindJob(request.job_id()));
  google::protobuf::RepeatedField<int32_t> one;
  one.Add(request.split_index());
  TS_ASSIGN_OR_RETURN(auto shards, Shards(*job, one));
  const Shard& shard = *shards[0];
  std::shared_ptr<const engine::Scorer> scorer;
  {
    absl::MutexLock lock(&job->mu);
    scorer = job->scorer;
  }
  const auto& schemes = job->compiled->policy.schemes;
  if (scorer == nullptr || shard.tiers.size() != schemes.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("split ", shard.split.index(), " has no tiers yet"));
  }
  const int64_t rows = shard.table.rows;
  if (request.first_row() < 0 || request.first_row() > rows || request.max_bytes() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("export of split ", shard.split.index(), " from row ", request.first_row(),
                     " (of ", rows, ") in pages of ", request.max_bytes(), " bytes"));
  }
  const size_t max_bytes = request.max_bytes() > 0 ? static_cast<size_t>(request.max_bytes())
                                                   : std::numeric_limits<size_t>::max();
  const size_t nc = request.explain() ? scorer->criteria() : 0;
  std::string csv;
  csv.reserve(std::min<size_t>(static_cast<size_t>(rows - request.first_row()) * (48 + 16 * nc),
                               max_bytes + (size_t{1} << 16)));
  constexpr int64_t kBatch = 4096;
  std::vector<double> scores(kBatch), contributions(kBatch * nc);
  int64_t end = request.first_row();  // the first row not written
  while (end < rows && csv.size() < max_bytes) {
    const int64_t n = std::min(kBatch, rows - end);
    if (nc > 0)
      TS_RETURN_IF_ERROR(scorer->Score(shard.table, end, n, scores.data(), contributions.data()));
    for (int64_t i = 0; i < n && csv.size() < max_bytes; ++i, ++end) {
      const size_t row = static_cast<size_t>(end);
      engine::AppendResultsRow(
          shard.table.ids[row], shard.scores[row], schemes.size(),
          [&](size_t s) -> std::string_view { return schemes[s].names[shard.tiers[s][row]]; },
          shard.values[row], contributions.data() + static_cast<size_t>(i) * nc, nc, &csv);
    }
  }
  v1::ExportResponse response;
  response.set_rows(end - request.first_row());
  response.set_csv(std::move(csv));
  if (end < rows) response.set_next_row(end);
  return response;
}

int WorkerCore::ExpireIdle(absl::Duration lease) {
  const int64_t cutoff = absl::GetCurrentTimeNanos() - absl::ToInt64Nanoseconds(lease);
  std::vector<std::shared_ptr<Job>> expired;  // freed outside the lock
  absl::MutexLock lock(&mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second->last_call_ns.load() < cutoff) {
      expired.push_back(std::move(it->second));
      jobs_.erase(it++);
    } else {
      ++it;
    }
  }
  return static_cast<int>(expired.size());
}

absl::StatusOr<v1::PublishResponse> WorkerCore::Publish(const v1::PublishRequest& request) {
  if (store_ == nullptr) {
    return absl::FailedPreconditionError("this worker has no store to publish to");
  }
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, FindJob(request.job_id()));
  TS_ASSIGN_OR_RETURN(auto shards, Shards(*job, request.splits()));
  std::shared_ptr<const engine::Scorer> scorer;
  std::vector<std::vector<engine::CutKey>> cuts;
  std::shared_ptr<const engine::PositionTable> positions;
  {
    absl::MutexLock lock(&job->mu);
    scorer = job->scorer;
    cuts = job->cuts;
    positions = job->positions;
  }
  const auto& schemes = job->compiled->policy.schemes;
  for (const auto& shard : shards) {
    if (scorer == nullptr || positions == nullptr || shard->tiers.size() != schemes.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat("split ", shard->split.index(), " has no tiers yet"));
    }
  }
  common::RunStore runs(store_);
  std::atomic<int64_t> records{0};
  TS_RETURN_IF_ERROR(
      ParallelStatus(pool_, static_cast<int>(shards.size()), [&](int si) -> absl::Status {
        const Shard& shard = *shards[static_cast<size_t>(si)];
        const size_t rows = static_cast<size_t>(shard.table.rows);
        const size_t nc = scorer->criteria();
        std::vector<common::RunStore::Entry> entries(rows);
        std::vector<double> scores(rows), contributions(rows * nc);
        TS_RETURN_IF_ERROR(
            scorer->Score(shard.table, 0, shard.table.rows, scores.data(), contributions.data()));
        for (size_t row = 0; row < rows; ++row) {
          common::RunStore::Entry& e = entries[row];
          e.customer_id = std::string(shard.table.ids[row]);
          v1::TierRecord& r = e.record;
          r.set_score(shard.scores[row]);
          r.set_value_micros(shard.values[row]);
          float percentile, cum_before;
          positions->Locate(shard.scores[row], &percentile, &cum_before);
          r.set_percentile(percentile);
          r.set_cum_before_share(cum_before);
          for (const auto& previous : shard.standing.previous_tiers)
            r.add_previous_tiers(previous[row]);
          for (const auto& earned : shard.standing.earned_tiers) r.add_earned_tiers(earned[row]);
          for (const auto& below : shard.standing.runs_below) r.add_runs_below(below[row]);
          for (size_t c = 0; c < nc; ++c) {
            r.add_contributions(static_cast<float>(contributions[row * nc + c]));
          }
          for (size_t s = 0; s < schemes.size(); ++s) {
            const int tier = shard.tiers[s][row];
            r.add_tiers(tier);
            // The score still needed to reach the next tier up: up to the key
            // of the boundary above (a tie there is decided by id), or the
            // minimum of the threshold tier above.
            const double score = shard.scores[row];
            const double gap = tier == 0 ? 0 : schemes[s].GapToNextTier(tier, score, [&](int k) {
              return engine::ScoreToComeBefore(cuts[s][static_cast<size_t>(k)], score);
            });
            r.add_gap_to_next_tier(static_cast<float>(gap));
          }
        }
        absl::Status st = runs.Write(request.run_id(), request.writer(), request.buckets(), entries,
                                     request.unpublished_ttl_ms() > 0
                                         ? absl::Milliseconds(request.unpublished_ttl_ms())
                                         : absl::InfiniteDuration());
        if (!st.ok()) {
          // The store, not this worker, failed: not a reason to move splits.
          return absl::AbortedError(absl::StrCat("store: ", st.message()));
        }
        records += static_cast<int64_t>(rows);
        return absl::OkStatus();
      }));
  v1::PublishResponse response;
  response.set_records(records);
  return response;
}

absl::StatusOr<v1::ReleaseResponse> WorkerCore::Release(const v1::ReleaseRequest& request) {
  std::shared_ptr<Job> job;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(request.job_id());
    if (it == jobs_.end()) return v1::ReleaseResponse();
    job = std::move(it->second);
    jobs_.erase(it);
  }
  return v1::ReleaseResponse();  // memory goes with the last reference
}

}  // namespace tierscore::worker

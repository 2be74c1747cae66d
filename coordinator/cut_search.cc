#include "coordinator/cut_search.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tiering.h"

namespace tierscore::coordinator {
namespace {

using engine::int128;

struct State {
  CutTarget target;
  v1::KeyRange range;
  int128 before = 0;  // measure strictly before the range
  int64_t count = 0;  // customers in the range
  std::vector<std::string> splitters;
  bool done = false;
  v1::CutKey cut;
  int probe = -1;
};

absl::Status Contradiction(const std::string& what) {
  return absl::InternalError(absl::StrCat("cut search: workers' answers do not add up (", what,
                                          "); a split was lost or counted twice"));
}

int128 Measure(const CutTarget& t, int64_t count, int128 value) {
  return t.by_value ? value : static_cast<int128>(count);
}

// A boundary with nothing to search: every customer is past it (a
// threshold of 0), or none is (more than the total).
void Start(const CutTarget& target, int64_t count, int128 total_value, double min_score,
           double max_score, State& s) {
  s.target = target;
  const int128 total = Measure(s.target, count, total_value);
  if (s.target.threshold <= 0) {
    s.cut.set_all(true);
    s.done = true;
  } else if (total < s.target.threshold) {
    s.cut.set_none(true);
    s.done = true;
  } else {
    s.range.set_score_lo(min_score);
    s.range.set_score_hi(max_score);
    s.count = count;
  }
}

// The question for a boundary's range: its customers when few, else a
// score histogram, or for a single tied score, id buckets (after a sample
// of ids to split them by).
v1::Probe Question(const State& s, const CutSearchOptions& options) {
  v1::Probe p;
  *p.mutable_range() = s.range;
  if (s.count <= options.fetch_limit) {
    p.set_fetch(true);
  } else if (s.range.score_lo() < s.range.score_hi()) {
    p.set_score_bins(options.score_bins);
  } else if (!s.splitters.empty()) {
    for (const std::string& id : s.splitters) p.add_id_splitters(id);
  } else {
    p.set_sample(options.sample);
  }
  return p;
}

// The fetched customers of the range, in global order: the first whose
// measure reaches the threshold is the cut.
absl::Status PinFromItems(const v1::ProbeResult& r, CutSearchStats* stats, State& s) {
  if (static_cast<int64_t>(r.items_size()) != s.count) return Contradiction("fetched items");
  if (stats != nullptr) stats->items_fetched += r.items_size();
  std::vector<const v1::Item*> items;
  for (const v1::Item& item : r.items()) items.push_back(&item);
  std::sort(items.begin(), items.end(), [](const v1::Item* a, const v1::Item* b) {
    return engine::Before(a->score(), a->id(), b->score(), b->id());
  });
  int128 cum = s.before;
  for (const v1::Item* item : items) {
    cum += Measure(s.target, 1, item->value());
    if (cum >= s.target.threshold) {
      s.cut.set_score(item->score());
      s.cut.set_id(item->id());
      s.done = true;
      return absl::OkStatus();
    }
  }
  return Contradiction("threshold not reached in its range");
}

// Evenly spaced distinct ids from the merged sample, to split a tied score.
absl::Status ChooseSplitters(const v1::ProbeResult& r, const CutSearchOptions& options, State& s) {
  const auto& ids = r.sample();
  if (ids.empty()) return Contradiction("empty sample of a non-empty range");
  const size_t k =
      std::min<size_t>(static_cast<size_t>(options.sample), static_cast<size_t>(ids.size()));
  for (size_t i = 0; i < k; ++i) {
    const std::string& id = ids[static_cast<int>((i * static_cast<size_t>(ids.size())) / k)];
    if (s.splitters.empty() || s.splitters.back() != id) s.splitters.push_back(id);
  }
  return absl::OkStatus();
}

// Histogram or id buckets: narrows the range to the bucket where the
// measure including it first reaches the threshold.
absl::Status Narrow(const v1::Probe& p, const v1::ProbeResult& r, State& s) {
  int64_t seen = 0;
  for (const v1::Bucket& b : r.buckets()) seen += b.count();
  if (seen != s.count) return Contradiction("bucket counts");
  int128 cum = s.before;
  for (int k = 0; k < r.buckets_size(); ++k) {
    const v1::Bucket& b = r.buckets(k);
    if (b.count() == 0) continue;
    const int128 m = Measure(s.target, b.count(), engine::FromProto(b.value()));
    if (cum + m < s.target.threshold) {
      cum += m;
      continue;
    }
    if (p.score_bins() > 0) {
      s.range.set_score_lo(b.min_score());
      s.range.set_score_hi(b.max_score());
    } else {
      s.range.set_id_bounded(true);
      if (k > 0) s.range.set_id_after(s.splitters[static_cast<size_t>(k - 1)]);
      if (k < static_cast<int>(s.splitters.size())) {
        s.range.set_id_upto(s.splitters[static_cast<size_t>(k)]);
      }
      s.splitters.clear();
    }
    s.before = cum;
    s.count = b.count();
    return absl::OkStatus();
  }
  return Contradiction("threshold not reached in its range");
}

}  // namespace

absl::StatusOr<std::vector<v1::CutKey>> FindCuts(const std::vector<CutTarget>& targets,
                                                 int64_t count, int128 total_value,
                                                 double min_score, double max_score,
                                                 const ProbeFn& probe,
                                                 const CutSearchOptions& options,
                                                 CutSearchStats* stats) {
  std::vector<State> states(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    Start(targets[i], count, total_value, min_score, max_score, states[i]);
  }
  for (int round = 0;; ++round) {
    // Targets in the same range ask the same question (all of them in the
    // first round): send it once.
    std::vector<v1::Probe> probes;
    absl::flat_hash_map<std::string, int> asked;
    for (State& s : states) {
      if (s.done) continue;
      v1::Probe p = Question(s, options);
      auto [it, fresh] = asked.emplace(p.SerializeAsString(), static_cast<int>(probes.size()));
      s.probe = it->second;
      if (fresh) probes.push_back(std::move(p));
    }
    if (probes.empty()) break;
    if (round >= options.max_rounds) return absl::InternalError("cut search did not converge");
    if (stats != nullptr) ++stats->rounds;
    TS_ASSIGN_OR_RETURN(std::vector<v1::ProbeResult> results, probe(probes));
    if (results.size() != probes.size()) return Contradiction("result count");
    for (State& s : states) {
      if (s.done) continue;
      const v1::Probe& p = probes[static_cast<size_t>(s.probe)];
      const v1::ProbeResult& r = results[static_cast<size_t>(s.probe)];
      if (p.fetch()) {
        TS_RETURN_IF_ERROR(PinFromItems(r, stats, s));
      } else if (p.sample() > 0) {
        TS_RETURN_IF_ERROR(ChooseSplitters(r, options, s));
      } else {
        TS_RETURN_IF_ERROR(Narrow(p, r, s));
      }
    }
  }

  std::vector<v1::CutKey> cuts;
  for (State& s : states) cuts.push_back(std::move(s.cut));
  return cuts;
}

}  // namespace tierscore::coordinator

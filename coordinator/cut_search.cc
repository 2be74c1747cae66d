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

}  // namespace

absl::StatusOr<std::vector<v1::CutKey>> FindCuts(const std::vector<CutTarget>& targets,
                                                 int64_t count, int128 total_value,
                                                 double min_score, double max_score,
                                                 const ProbeFn& probe,
                                                 const CutSearchOptions& options,
                                                 CutSearchStats* stats) {
  std::vector<State> states(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    State& s = states[i];
    s.target = targets[i];
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

  for (int round = 0;; ++round) {
    // Targets in the same range ask the same question (all of them in the
    // first round): send it once.
    std::vector<v1::Probe> probes;
    absl::flat_hash_map<std::string, int> asked;
    for (State& s : states) {
      if (s.done) continue;
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
      auto [it, fresh] = asked.emplace(p.SerializeAsString(), static_cast<int>(probes.size()));
      s.probe = it->second;
      if (fresh) probes.push_back(std::move(p));
    }
    if (probes.empty()) break;
    if (round >= options.max_rounds) {
      return absl::InternalError("cut search did not converge");
    }
    if (stats != nullptr) ++stats->rounds;
    TS_ASSIGN_OR_RETURN(std::vector<v1::ProbeResult> results, probe(probes));
    if (results.size() != probes.size()) return Contradiction("result count");

    for (State& s : states) {
      if (s.done) continue;
      const v1::Probe& p = probes[static_cast<size_t>(s.probe)];
      v1::ProbeResult& r = results[static_cast<size_t>(s.probe)];
      const CutTarget& t = s.target;

      if (p.fetch()) {
        if (static_cast<int64_t>(r.items_size()) != s.count) {
          return Contradiction("fetched items");
        }
        if (stats != nullptr) stats->items_fetched += r.items_size();
        std::vector<const v1::Item*> items;
        for (const v1::Item& item : r.items()) items.push_back(&item);
        std::sort(items.begin(), items.end(), [](const v1::Item* a, const v1::Item* b) {
          return engine::Before(a->score(), a->id(), b->score(), b->id());
        });
        int128 cum = s.before;
        for (const v1::Item* item : items) {
          cum += Measure(t, 1, item->value());
          if (cum >= t.threshold) {
            s.cut.set_score(item->score());
            s.cut.set_id(item->id());
            s.done = true;
            break;
          }
        }
        if (!s.done) return Contradiction("threshold not reached in its range");
        continue;
      }

      if (p.sample() > 0) {
        // Choose evenly spaced distinct ids from the merged sample.
        const auto& ids = r.sample();
        if (ids.empty()) return Contradiction("empty sample of a non-empty range");
        const size_t k =
            std::min<size_t>(static_cast<size_t>(options.sample), static_cast<size_t>(ids.size()));
        for (size_t i = 0; i < k; ++i) {
          const std::string& id = ids[static_cast<int>((i * static_cast<size_t>(ids.size())) / k)];
          if (s.splitters.empty() || s.splitters.back() != id) s.splitters.push_back(id);
        }
        continue;
      }

      // Histogram or id buckets: narrow to the bucket where the measure
      // including it first reaches the threshold.
      int64_t seen = 0;
      for (const v1::Bucket& b : r.buckets()) seen += b.count();
      if (seen != s.count) return Contradiction("bucket counts");
      int128 cum = s.before;
      bool narrowed = false;
      for (int k = 0; k < r.buckets_size(); ++k) {
        const v1::Bucket& b = r.buckets(k);
        if (b.count() == 0) continue;
        const int128 m = Measure(t, b.count(), engine::FromProto(b.value()));
        if (cum + m < t.threshold) {
          cum += m;
          continue;
        }
        v1::KeyRange next = s.range;
        if (p.score_bins() > 0) {
          next.set_score_lo(b.min_score());
          next.set_score_hi(b.max_score());
        } else {
          next.set_id_bounded(true);
          if (k > 0) next.set_id_after(s.splitters[static_cast<size_t>(k - 1)]);
          if (k < static_cast<int>(s.splitters.size())) {
            next.set_id_upto(s.splitters[static_cast<size_t>(k)]);
          }
          s.splitters.clear();
        }
        s.range = next;
        s.before = cum;
        s.count = b.count();
        narrowed = true;
        break;
      }
      if (!narrowed) return Contradiction("threshold not reached in its range");
    }
  }

  std::vector<v1::CutKey> cuts;
  for (State& s : states) cuts.push_back(std::move(s.cut));
  return cuts;
}

}  // namespace tierscore::coordinator

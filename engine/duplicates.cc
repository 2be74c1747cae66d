#include "engine/duplicates.h"

#include <xxhash.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tierscore::engine {

int IdTarget(std::string_view id, int targets) {
  const uint64_t h = XXH3_64bits(id.data(), id.size());
  // The high half of h times targets: uniform without a division.
  return static_cast<int>(((h >> 32) * static_cast<uint64_t>(targets)) >> 32);
}

DuplicateFinder::DuplicateFinder(size_t expected) {
  entries_.reserve(expected);
  seen_.reserve(expected);
}

void DuplicateFinder::Add(std::string_view id, IdPlace place) {
  const uint64_t hash = XXH3_64bits(id.data(), id.size());
  entries_.push_back({id, hash, place});
  if (!seen_.insert(hash).second) repeated_.insert(hash);
}

void SortByFirstPlace(std::vector<DuplicateId>& ids) {
  std::sort(ids.begin(), ids.end(), [](const DuplicateId& a, const DuplicateId& b) {
    return a.places.front() < b.places.front();
  });
}

std::vector<DuplicateId> DuplicateFinder::Finish() {
  std::vector<DuplicateId> out;
  if (!repeated_.empty()) {
    // Exactly, among the few ids whose hash repeats (a 64-bit collision of
    // two different ids lands here too and is told apart).
    absl::flat_hash_map<std::string_view, std::vector<IdPlace>> places;
    for (const Entry& e : entries_) {
      if (repeated_.contains(e.hash)) places[e.id].push_back(e.place);
    }
    for (auto& [id, p] : places) {
      if (p.size() < 2) continue;
      std::sort(p.begin(), p.end());
      out.push_back({std::string(id), std::move(p)});
    }
    SortByFirstPlace(out);
  }
  entries_.clear();
  seen_.clear();
  repeated_.clear();
  return out;
}

std::map<int32_t, std::vector<int32_t>> LaterRows(const std::vector<DuplicateId>& duplicates) {
  std::map<int32_t, std::vector<int32_t>> rows;
  for (const DuplicateId& d : duplicates) {
    for (size_t i = 1; i < d.places.size(); ++i) rows[d.places[i].split].push_back(d.places[i].row);
  }
  for (auto& [split, r] : rows) {
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
  }
  return rows;
}

int64_t ExtraRows(const std::vector<DuplicateId>& duplicates) {
  int64_t extra = 0;
  for (const DuplicateId& d : duplicates) extra += static_cast<int64_t>(d.places.size()) - 1;
  return extra;
}

absl::Status DuplicateIdsError(const std::vector<DuplicateId>& duplicates,
                               const std::function<std::string(const IdPlace&)>& where) {
  constexpr size_t kExamples = 3;
  constexpr size_t kPlaces = 3;
  std::vector<std::string> examples;
  for (size_t i = 0; i < duplicates.size() && i < kExamples; ++i) {
    const DuplicateId& d = duplicates[i];
    std::vector<std::string> places;
    for (size_t p = 0; p < d.places.size() && p < kPlaces; ++p)
      places.push_back(where(d.places[p]));
    if (d.places.size() > kPlaces)
      places.push_back(absl::StrCat(d.places.size() - kPlaces, " more"));
    examples.push_back(absl::StrCat("\"", d.id, "\" at ", absl::StrJoin(places, ", ")));
  }
  const size_t ids = duplicates.size();
  const int64_t extra = ExtraRows(duplicates);
  return absl::InvalidArgumentError(absl::StrCat(
      "customer ids must be unique: ", ids, ids == 1 ? " id appears" : " ids appear",
      " more than once (", extra, extra == 1 ? " extra row" : " extra rows", "), e.g. ",
      absl::StrJoin(examples, "; "),
      "; to keep each id's first row instead, set duplicate_ids: keep_first in the policy"));
}

void RemoveRows(const std::vector<int32_t>& rows, Table* table) {
  if (rows.empty()) return;
  const size_t n = static_cast<size_t>(table->rows);
  std::vector<bool> drop(n, false);
  for (int32_t r : rows) drop[static_cast<size_t>(r)] = true;
  IdColumn ids;
  ids.offsets.reserve(n - rows.size() + 1);
  for (size_t i = 0; i < n; ++i) {
    if (!drop[i]) ids.Append(table->ids[i]);
  }
  table->ids = std::move(ids);
  auto compact = [&](auto& values) {
    if (values.empty()) return;
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!drop[i]) values[kept++] = values[i];
    }
    values.resize(kept);
  };
  for (Column& c : table->columns) {
    compact(c.numbers);
    compact(c.codes);
  }
  table->rows = static_cast<int64_t>(n - rows.size());
}

}  // namespace tierscore::engine

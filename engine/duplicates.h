#ifndef TIERSCORE_ENGINE_DUPLICATES_H_
#define TIERSCORE_ENGINE_DUPLICATES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "engine/table.h"

namespace tierscore::engine {

// Customer ids are unique across a job's inputs; a policy says what happens
// when they are not (Policy.duplicate_ids: fail, the default, or keep each
// id's first row in input order).
//
// The distributed check rides on phases that read the ids anyway (no extra
// pass over the data; coordinator/job_runner.h): Load cuts each split's ids
// into one list per split of the job, chosen by IdTarget, and the worker
// holding split t is then given every list cut for t. All occurrences of an
// id have the same target, so each duplicate is seen whole by one worker.

// Where a row is: its split (input order) and its row within the split.
struct IdPlace {
  int32_t split = 0;
  int32_t row = 0;

  friend bool operator<(const IdPlace& a, const IdPlace& b) {
    return std::tie(a.split, a.row) < std::tie(b.split, b.row);
  }
  friend bool operator==(const IdPlace& a, const IdPlace& b) {
    return a.split == b.split && a.row == b.row;
  }
};

// An id seen more than once, and everywhere it was seen, in input order
// (places[0] is its first row).
struct DuplicateId {
  std::string id;
  std::vector<IdPlace> places;
};

// Orders `ids` by where each first appears (their places sorted already):
// the order every list of duplicates is reported in.
void SortByFirstPlace(std::vector<DuplicateId>& ids);

// Which of `targets` (in [1, 2^31)) splits checks `id`: uniform over them and
// the same on every machine (xxh3-64).
int IdTarget(std::string_view id, int targets);

// Finds the ids added more than once: one hash-table probe per id (by its
// xxh3-64), and an exact comparison only for ids whose hash repeats.
// Thread-compatible. The ids are borrowed: they must stay alive until Finish.
class DuplicateFinder {
 public:
  // `expected`: about how many ids will be added (sizes the table once).
  explicit DuplicateFinder(size_t expected = 0);
  void Add(std::string_view id, IdPlace place);
  // The duplicates, ordered by their first place.
  std::vector<DuplicateId> Finish();

 private:
  struct Entry {
    std::string_view id;
    uint64_t hash;
    IdPlace place;
  };
  std::vector<Entry> entries_;
  absl::flat_hash_set<uint64_t> seen_;      // hashes added
  absl::flat_hash_set<uint64_t> repeated_;  // hashes added more than once
};

// Rows past the first of every duplicate, ascending per split: what
// keeping the first occurrences drops.
std::map<int32_t, std::vector<int32_t>> LaterRows(const std::vector<DuplicateId>& duplicates);

// Rows past the first, in all.
int64_t ExtraRows(const std::vector<DuplicateId>& duplicates);

// INVALID_ARGUMENT for a job whose inputs hold `duplicates` (not empty):
// how many ids and extra rows, a few examples with every place named by
// `where`, and the policy option that keeps first rows instead.
absl::Status DuplicateIdsError(const std::vector<DuplicateId>& duplicates,
                               const std::function<std::string(const IdPlace&)>& where);

// Removes `rows` (ascending, distinct, each < table->rows) from every column.
// Text dictionaries keep their values (codes stay valid).
void RemoveRows(const std::vector<int32_t>& rows, Table* table);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_DUPLICATES_H_

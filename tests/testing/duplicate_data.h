#ifndef TIERSCORE_TESTS_TESTING_DUPLICATE_DATA_H_
#define TIERSCORE_TESTS_TESTING_DUPLICATE_DATA_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/generator.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::testing {

// Two inputs whose customer ids repeat inside one split, across the splits
// of a file and across files (with split_bytes ~150000), on data with ties
// and zeros. The repeats are other customers' rows given an earlier id, so
// which row is kept changes the result.
struct DuplicateInputs {
  std::vector<std::string> inputs;  // a.csv, b.csv
  // The same inputs with every repeat after the first removed by hand.
  std::vector<std::string> first_only;
  int64_t distinct_ids = 0;
  int64_t repeated_ids = 4;
  int64_t extra_rows = 5;
};

inline DuplicateInputs WriteDuplicateInputs(TempDir& dir) {
  auto lines_of = [](int64_t rows, uint64_t seed) {
    engine::GeneratorOptions gen;
    gen.rows = rows;
    gen.seed = seed;
    gen.distinct_values = 30;
    gen.extra_zero_share = 0.1;
    std::vector<std::string> lines =
        absl::StrSplit(engine::GenerateCustomersCsv(gen), '\n', absl::SkipEmpty());
    return lines;
  };
  auto id_of = [](const std::string& line) { return line.substr(0, line.find(',')); };
  auto with_id = [](const std::string& line, const std::string& id) {
    return id + line.substr(line.find(','));
  };
  std::vector<std::string> a = lines_of(12000, 7);  // a[0] is the header
  std::vector<std::string> b = lines_of(300, 8);
  for (size_t i = 1; i < b.size(); ++i) b[i] = with_id(b[i], absl::StrCat("B", i));
  // Data row r of a file is line a[r].
  a[102] = with_id(a[102], id_of(a[101]));    // next to it: one split
  a[11001] = with_id(a[11001], id_of(a[6]));  // another split of the file
  a[7001] = with_id(a[7001], id_of(a[51]));   // three times, the third ...
  b[1] = with_id(b[1], id_of(a[51]));         // ... in the other file
  b[2] = with_id(b[2], id_of(a[2001]));       // across files
  DuplicateInputs out;
  out.inputs = {dir.Write("a.csv", absl::StrJoin(a, "\n") + "\n"),
                dir.Write("b.csv", absl::StrJoin(b, "\n") + "\n")};
  std::vector<std::string> a_first = a, b_first = b;
  for (size_t r : {11001, 7001, 102}) a_first.erase(a_first.begin() + static_cast<long>(r));
  b_first.erase(b_first.begin() + 1, b_first.begin() + 3);
  out.first_only = {dir.Write("a_first.csv", absl::StrJoin(a_first, "\n") + "\n"),
                    dir.Write("b_first.csv", absl::StrJoin(b_first, "\n") + "\n")};
  out.distinct_ids = static_cast<int64_t>(a_first.size() + b_first.size()) - 2;
  return out;
}

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_DUPLICATE_DATA_H_

// Checks that two results CSVs give every customer the same tiers.
//   compare_results A.csv B.csv ladder abc
// Prints the number of customers compared and of disagreements (with the
// first few), exits 1 on any disagreement or missing customer.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/csv.h"

namespace {

using tierscore::engine::ColumnRequest;
using tierscore::engine::ColumnType;
using tierscore::engine::Table;

absl::StatusOr<Table> ReadAll(const std::string& path, const std::vector<ColumnRequest>& cols) {
  auto header = tierscore::engine::ReadHeader(path);
  if (!header.ok()) return header.status();
  tierscore::engine::Split whole;
  whole.path = path;
  whole.begin = header->data_begin;
  whole.end = header->file_size;
  return tierscore::engine::ParseSplit(whole, *header, "customer_id", cols);
}

std::string TierKey(const Table& t, size_t row) {
  std::string key;
  for (const auto& c : t.columns) {
    key += c.codes[row] < 0 ? "" : c.dictionary[static_cast<size_t>(c.codes[row])];
    key += '|';
  }
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s A.csv B.csv TIER_COLUMN...\n", argv[0]);
    return 2;
  }
  std::vector<ColumnRequest> cols;
  for (int i = 3; i < argc; ++i) cols.push_back({argv[i], ColumnType::kText});
  auto a = ReadAll(argv[1], cols);
  auto b = ReadAll(argv[2], cols);
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "%s\n", std::string((a.ok() ? b.status() : a.status()).message()).c_str());
    return 2;
  }
  absl::flat_hash_map<std::string, size_t> index;
  index.reserve(static_cast<size_t>(a->rows));
  for (size_t i = 0; i < static_cast<size_t>(a->rows); ++i)
    index.emplace(std::string(a->ids[i]), i);
  int64_t differ = 0, missing = 0;
  for (size_t j = 0; j < static_cast<size_t>(b->rows); ++j) {
    auto it = index.find(std::string(b->ids[j]));
    if (it == index.end()) {
      ++missing;
      continue;
    }
    const std::string ka = TierKey(*a, it->second), kb = TierKey(*b, j);
    if (ka != kb && ++differ <= 5) {
      std::printf("  %s: %s vs %s\n", std::string(b->ids[j]).c_str(), ka.c_str(), kb.c_str());
    }
  }
  if (a->rows != b->rows) missing += a->rows > b->rows ? a->rows - b->rows : 0;
  std::printf("%lld customers compared, %lld with different tiers, %lld missing\n",
              static_cast<long long>(b->rows), static_cast<long long>(differ),
              static_cast<long long>(missing));
  return differ == 0 && missing == 0 ? 0 : 1;
}

#ifndef TIERSCORE_ENGINE_TABLE_H_
#define TIERSCORE_ENGINE_TABLE_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tierscore::engine {

// Input columns are loaded only when the job uses them, with a type that
// follows from the use: numbers for arithmetic, text for grouping and string
// comparison.
enum class ColumnType { kNumber, kText };

// One column of a shard. Numbers are doubles with NaN as null (the CSV reader
// rejects "nan"/"inf" text, so NaN can only mean an empty field). Text is
// dictionary-encoded per shard, code -1 for null (an empty field).
struct Column {
  std::string name;
  ColumnType type = ColumnType::kNumber;
  std::vector<double> numbers;
  std::vector<int32_t> codes;
  std::vector<std::string> dictionary;

  bool IsNull(size_t row) const {
    return type == ColumnType::kNumber ? std::isnan(numbers[row]) : codes[row] < 0;
  }
};

// Customer ids of a shard, packed: id i is bytes [offsets[i], offsets[i+1]).
// 32-bit offsets: a shard's ids stay far below 4 GiB (splits are ~64 MiB).
struct IdColumn {
  std::string bytes;
  std::vector<uint32_t> offsets{0};

  size_t size() const { return offsets.size() - 1; }
  std::string_view operator[](size_t i) const {
    return std::string_view(bytes).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  void Append(std::string_view id) {
    bytes.append(id);
    offsets.push_back(static_cast<uint32_t>(bytes.size()));
  }
};

// A columnar slice of the input (one split). Movable, not copyable by
// accident; not thread-safe for writes, safe for concurrent reads.
struct Table {
  int64_t rows = 0;
  IdColumn ids;
  std::vector<Column> columns;  // in the order they were requested

  Table() = default;
  Table(Table&&) = default;
  Table& operator=(Table&&) = default;
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  const Column* Find(std::string_view name) const {
    for (const Column& c : columns) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
};

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_TABLE_H_

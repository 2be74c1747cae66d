// libFuzzer: the CSV reader on any bytes. It must return a table or an
// error naming the place, never crash, hang or read out of bounds; output
// fields written back must parse as the same text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/csv.h"
#include "engine/results_csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tierscore::engine::ColumnRequest;
  using tierscore::engine::ColumnType;
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::vector<ColumnRequest> kColumns = {{"value", ColumnType::kNumber},
                                                      {"name", ColumnType::kText}};
  auto table = tierscore::engine::ParseCsvText(text, "fuzz.csv", "id", kColumns);
  if (!table.ok()) return 0;
  std::string out;
  for (size_t i = 0; i < table->ids.size(); ++i) {
    tierscore::engine::AppendCsvField(table->ids[i], &out);
    out += '\n';
  }
  return 0;
}

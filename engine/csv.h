#ifndef TIERSCORE_ENGINE_CSV_H_
#define TIERSCORE_ENGINE_CSV_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/table.h"

namespace tierscore::engine {

// CSV input: RFC 4180 (comma separator, fields optionally in double quotes, a
// quote inside a quoted field doubled, LF or CRLF line ends), a header row,
// optionally gzip-compressed (by the ".gz" suffix). An empty field is null.
//
// Parallel reading. A file is cut into raw byte ranges; each range is scanned
// independently (ScanRange) and the scans are combined (AlignSplits) into
// splits that start exactly on record starts. A newline inside a quoted field
// cannot be mistaken for a record end: whether an offset is inside quotes
// depends only on the parity of the number of '"' bytes before it (a doubled
// quote adds two and keeps the parity). Each scan reports its quote count and
// its first record start under both possible parities at its beginning; the
// prefix sum of quote counts says which parity is true, so which candidate is
// the real record start. Errors name `file:line:column`, the physical line;
// a split counts the lines before it only when it has an error to report.

struct CsvHeader {
  std::vector<std::string> columns;
  int64_t data_begin = 0;  // offset of the first record after the header
  int64_t file_size = 0;
  int64_t mtime_ns = 0;
  bool gzip = false;
};

// A raw byte range [begin, end) of a file, not yet aligned to records.
struct ByteRange {
  int64_t begin = 0;
  int64_t end = 0;
};

// For one raw range: its quote count, and the first record start inside it
// under each assumption about the quote state at its beginning (outside a
// quoted field = even, inside = odd); -1: no record starts there.
struct RangeScan {
  int64_t quotes = 0;
  int64_t start_even = -1;
  int64_t start_odd = -1;
};

// A byte range [begin, end) of one file holding whole records, or a whole
// gzip file (decompressed).
struct Split {
  int index = 0;
  std::string path;
  int64_t begin = 0;
  int64_t end = 0;
  bool gzip = false;
};

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates).
// Ids, text values and column names must be: they travel in protobuf
// strings and come back in CSV and JSON.
bool IsUtf8(std::string_view text);

// A header row longer than this is refused (a missing newline would
// otherwise have the whole file read to find its end).
inline constexpr int64_t kMaxHeaderBytes = 1 << 20;
// A record longer than this is refused when a file is planned (a missing
// newline or an unclosed quote would otherwise make one split of the rest
// of the file).
inline constexpr int64_t kMaxRecordBytes = 16 << 20;
// A customer id is 1 to this many bytes of UTF-8 without control characters.
inline constexpr size_t kMaxIdBytes = 1024;
// What a gzip input may decompress to by default (ParseSplit).
inline constexpr int64_t kDefaultMaxDecompressedBytes = int64_t{4} << 30;

// Reads and validates the header row (non-empty, unique, UTF-8 names, at
// most kMaxHeaderBytes).
absl::StatusOr<CsvHeader> ReadHeader(const std::string& path);

// Scans raw range [begin, end) of an uncompressed file; begin >= data_begin.
absl::StatusOr<RangeScan> ScanRange(const std::string& path, int64_t begin, int64_t end);

// Cuts [header.data_begin, file_size) into raw ranges of about `split_bytes`.
std::vector<ByteRange> RawRanges(const CsvHeader& header, int64_t split_bytes);

// Turns the scans of consecutive raw ranges (as from RawRanges) into splits
// on record starts. Empty splits are dropped; indices start at `first_index`.
// INVALID_ARGUMENT when no record starts for more than kMaxRecordBytes past
// a range (a record that long is a missing newline or an unclosed quote).
absl::StatusOr<std::vector<Split>> AlignSplits(const std::string& path, const CsvHeader& header,
                                               const std::vector<ByteRange>& ranges,
                                               const std::vector<RangeScan>& scans,
                                               int first_index);

// The columns a job needs from the input.
struct ColumnRequest {
  std::string name;
  ColumnType type;
};

// Parses one split into a table holding the id column and the requested
// columns. INVALID_ARGUMENT on bad input, naming file:line:column, the column
// and what was expected; NOT_FOUND if a column is missing from the header;
// RESOURCE_EXHAUSTED when a gzip input decompresses to more than
// `max_decompressed_bytes`.
absl::StatusOr<Table> ParseSplit(const Split& split, const CsvHeader& header,
                                 const std::string& id_column,
                                 const std::vector<ColumnRequest>& columns,
                                 int64_t max_decompressed_bytes = kDefaultMaxDecompressedBytes);

// Parses a whole in-memory CSV text (tests and small uploads).
absl::StatusOr<Table> ParseCsvText(const std::string& text, const std::string& source_name,
                                   const std::string& id_column,
                                   const std::vector<ColumnRequest>& columns);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_CSV_H_

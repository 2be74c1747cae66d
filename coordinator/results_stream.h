#ifndef TIERSCORE_COORDINATOR_RESULTS_STREAM_H_
#define TIERSCORE_COORDINATOR_RESULTS_STREAM_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tierscore/v1/coordinator.pb.h"

namespace tierscore::coordinator {

// Cuts the per-customer results CSV (engine/results_csv.h: the header,
// then rows, in pieces of any size) into StreamResults messages of whole
// rows: CSV chunks of at most `max_bytes` (a single longer row alone), or
// typed rows, the first message naming the schemes and criteria. A newline
// inside a quoted id does not end a row.
//
// Not thread-safe: one export feeds one chunker.
class ResultsChunker {
 public:
  using Emit = std::function<absl::Status(v1::ResultsChunk& chunk)>;

  // `emit` is called with each message ready, on the thread calling Add or
  // Finish; its error stops the stream and is returned.
  ResultsChunker(bool rows, Emit emit, size_t max_bytes = size_t{1} << 20);

  absl::Status Add(std::string_view csv);
  // Sends what is left. INTERNAL if the text ended inside a row.
  absl::Status Finish();

 private:
  // Sends pending_[0, end), whole rows, and drops it from pending_.
  absl::Status Send(size_t end);
  absl::Status AddRows(std::string_view text, v1::ResultsChunk& chunk);
  absl::Status ReadHeader(const std::vector<std::string>& fields);

  const bool rows_;
  const Emit emit_;
  const size_t max_bytes_;
  std::string pending_;
  size_t scanned_ = 0;   // bytes of pending_ looked at for row ends
  size_t row_end_ = 0;   // end of the last whole row in pending_
  bool quoted_ = false;  // inside a quoted field at scanned_
  bool header_read_ = false;
  size_t schemes_ = 0;
  size_t criteria_ = 0;
  std::vector<std::string> header_schemes_, header_criteria_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_RESULTS_STREAM_H_

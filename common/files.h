#ifndef TIERSCORE_COMMON_FILES_H_
#define TIERSCORE_COMMON_FILES_H_

#include <string>

#include "absl/status/status.h"

namespace tierscore::common {

// Writes `text` to `path` atomically: a temporary file beside it, renamed
// into place, so readers never see a partial file and a failed write leaves
// the old file (or none).
absl::Status WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_FILES_H_

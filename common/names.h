#ifndef TIERSCORE_COMMON_NAMES_H_
#define TIERSCORE_COMMON_NAMES_H_

// Names that become parts of store keys or come back in messages (aliases,
// run and job ids) are checked in one place, so that no request can put
// spaces, control bytes or megabytes of text into a key, a log or an error.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tierscore::common {

inline constexpr size_t kMaxNameLength = 256;
// Errors that reach a client or a job record are at most this long: a
// message that repeats a client's input (a 3 MB column name) is cut.
inline constexpr size_t kMaxErrorBytes = 2048;

// `message`, cut to kMaxErrorBytes on a UTF-8 character boundary, with how
// much was left out.
inline std::string CutMessage(absl::string_view message) {
  if (message.size() <= kMaxErrorBytes) return std::string(message);
  size_t end = kMaxErrorBytes;
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) --end;
  return absl::StrCat(message.substr(0, end), "... (", message.size() - end, " more bytes)");
}

// OK when `value` is 1 to kMaxNameLength letters, digits and . _ - / :,
// neither starting nor ending with '/' and without "//"; else
// INVALID_ARGUMENT naming `field` and showing (the start of) the value.
inline absl::Status CheckName(absl::string_view value, absl::string_view field) {
  bool ok = !value.empty() && value.size() <= kMaxNameLength && value.front() != '/' &&
            value.back() != '/' && value.find("//") == absl::string_view::npos;
  for (char c : value) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-' || c == '/' || c == ':');
  }
  if (ok) return absl::OkStatus();
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": \"", absl::CHexEscape(value.substr(0, 64)),
                   value.size() > 64 ? "..." : "", "\" is not a valid name (1 to ", kMaxNameLength,
                   " letters, digits and . _ - / :, not starting or ending with / and "
                   "without //)"));
}

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_NAMES_H_

#ifndef TIERSCORE_COMMON_LOGGING_H_
#define TIERSCORE_COMMON_LOGGING_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

namespace tierscore::common {

enum class LogFormat { kText, kJson };

// Sets how the process's default logger writes: `text` for people
// ("2026-11-29 17:00:00.123 info job.finished job=j1 rows=1000"), or `json`
// for log collectors, one object per line ({"time":…,"level":…,
// "event":…, and the fields}). INVALID_ARGUMENT naming the value for any
// other format. With `to_stderr` the default logger is replaced by one that
// writes standard error (unbuffered; servers log there); otherwise the
// current default logger is kept. Call it before threads log.
absl::Status ConfigureLogging(absl::string_view format, bool to_stderr = true);

// The format in use (text unless ConfigureLogging said otherwise).
LogFormat CurrentLogFormat();

// One field of a structured log line. Values are copied; numbers stay
// numbers in JSON.
class LogField {
 public:
  LogField(absl::string_view key, absl::string_view value);
  LogField(absl::string_view key, const std::string& value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, const char* value) : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, int64_t value);
  LogField(absl::string_view key, int value) : LogField(key, static_cast<int64_t>(value)) {}
  LogField(absl::string_view key, double value);

  const std::string& key() const { return key_; }
  const std::string& text() const { return text_; }
  bool is_number() const { return number_; }

 private:
  std::string key_;
  std::string text_;
  bool number_ = false;
};

// Logs an event (a dotted name such as "job.finished") with its fields, in
// the configured format. Thread-safe. Never pass secrets: fields are
// written as given.
void LogEvent(spdlog::level::level_enum level, absl::string_view event,
              std::initializer_list<LogField> fields);

// The line LogEvent writes after the time and level, for `format`; exposed
// for tests.
std::string FormatEvent(LogFormat format, absl::string_view event,
                        std::initializer_list<LogField> fields);

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view s);

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_LOGGING_H_

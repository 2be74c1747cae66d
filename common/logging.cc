#include "common/logging.h"

#include <atomic>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace tierscore::common {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// A line LogEvent formatted as JSON starts with this byte: the payload is
// then a JSON fragment ("event":…,…) and is written as it is.
constexpr char kPreformatted = '\x1e';

// %* in the JSON pattern: the message as JSON members.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const absl::string_view payload(msg.payload.data(), msg.payload.size());
    std::string out = !payload.empty() && payload[0] == kPreformatted
                          ? std::string(payload.substr(1))
                          : absl::StrCat("\"msg\":", JsonQuote(payload));
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// A text value is quoted when it would not read back as one word.
std::string TextValue(const LogField& f) {
  if (f.is_number()) return f.text();
  const bool plain = !f.text().empty() && std::all_of(f.text().begin(), f.text().end(), [](char c) {
    return absl::ascii_isgraph(static_cast<unsigned char>(c)) && c != '"' && c != '=';
  });
  return plain ? f.text() : JsonQuote(f.text());
}

}  // namespace

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

LogField::LogField(absl::string_view key, absl::string_view value) : key_(key), text_(value) {}
LogField::LogField(absl::string_view key, int64_t value)
    : key_(key), text_(absl::StrCat(value)), number_(true) {}
LogField::LogField(absl::string_view key, double value)
    : key_(key), text_(absl::StrFormat("%.6g", value)), number_(true) {}

absl::Status ConfigureLogging(absl::string_view format, bool to_stderr) {
  if (format != "text" && format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("--log-format: unknown value \"", format, "\" (expected text or json)"));
  }
  if (to_stderr) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "tierscore", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  }
  if (format == "text") {
    g_format = LogFormat::kText;
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    return absl::OkStatus();
  }
  g_format = LogFormat::kJson;
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessageFlag>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%*})");
  spdlog::set_formatter(std::move(formatter));
  return absl::OkStatus();
}

LogFormat CurrentLogFormat() { return g_format.load(); }

std::string FormatEvent(LogFormat format, absl::string_view event,
                        std::initializer_list<LogField> fields) {
  std::string out;
  if (format == LogFormat::kJson) {
    out = absl::StrCat("\"event\":", JsonQuote(event));
    for (const LogField& f : fields) {
      absl::StrAppend(&out, ",", JsonQuote(f.key()), ":",
                      f.is_number() ? f.text() : JsonQuote(f.text()));
    }
    return out;
  }
  out = std::string(event);
  for (const LogField& f : fields) absl::StrAppend(&out, " ", f.key(), "=", TextValue(f));
  return out;
}

void LogEvent(spdlog::level::level_enum level, absl::string_view event,
              std::initializer_list<LogField> fields) {
  if (!spdlog::should_log(level)) return;
  const LogFormat format = CurrentLogFormat();
  std::string line = FormatEvent(format, event, fields);
  if (format == LogFormat::kJson) line.insert(line.begin(), kPreformatted);
  spdlog::log(level, "{}", line);
}

}  // namespace tierscore::common

#ifndef TIERSCORE_ENGINE_RESULTS_CSV_H_
#define TIERSCORE_ENGINE_RESULTS_CSV_H_

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/policy.h"

namespace tierscore::engine {

// The pieces of the per-customer results CSV (customer_id, score, a tier
// per scheme, value, then optional contributions), shared by everyone who
// writes it so that the same customer always reads the same. Inline: they
// run once per customer and field.

// Whether a spreadsheet would run `field` as a formula: it starts with
// = + - @, a tab or a carriage return and is not a plain number.
inline bool LooksLikeFormula(std::string_view field) {
  if (field.empty()) return false;
  const char c = field.front();
  if (c != '=' && c != '+' && c != '-' && c != '@' && c != '\t' && c != '\r') return false;
  double number;
  return !absl::SimpleAtod(absl::string_view(field.data(), field.size()), &number) ||
         !std::isfinite(number);
}

// A field, quoted (RFC 4180) only when it must be. A field a spreadsheet
// would run as a formula (LooksLikeFormula) gets a leading ' and quotes,
// so that opening the file shows the text instead of running it.
inline void AppendCsvField(std::string_view field, std::string* out) {
  const bool formula = LooksLikeFormula(field);
  bool plain = !formula;
  for (char c : field) plain &= c != ',' && c != '"' && c != '\r' && c != '\n';
  if (plain) {
    out->append(field);
    return;
  }
  out->push_back('"');
  if (formula) out->push_back('\'');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Micro-units as a decimal without trailing zeros: 2527520000 -> "2527.52".
// Exact (it is the value tiers were computed from) and cheaper than a double.
inline void AppendMicros(int64_t micros, std::string* out) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, micros / 1000000);
  out->append(buf, static_cast<size_t>(ptr - buf));
  int64_t frac = micros % 1000000;
  if (frac == 0) return;
  char digits[7] = {'.', '0', '0', '0', '0', '0', '0'};
  for (int i = 6; i >= 1; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
  int len = 7;
  while (digits[len - 1] == '0') --len;
  out->append(digits, static_cast<size_t>(len));
}

// The shortest text that reads back as the same double.
inline void AppendDouble(double v, std::string* out) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, static_cast<size_t>(ptr - buf));
}

// The header line, newline included: customer_id, score, one column per
// tier scheme, value, and with `explain` one contribution_<criterion> each.
inline std::string ResultsHeader(const CompiledPolicy& policy, bool explain) {
  std::string h = "customer_id,score";
  for (const auto& s : policy.schemes) {
    h += ',';
    AppendCsvField(s.name, &h);
  }
  h += ",value";
  if (explain) {
    for (const auto& c : policy.criteria) {
      h += ',';
      AppendCsvField(absl::StrCat("contribution_", c.name), &h);
    }
  }
  h += '\n';
  return h;
}

// One customer's row; `tier_name(s)` is its tier's name in scheme s, and
// `contributions` (null without explain) has `criteria` entries.
template <typename TierName>
inline void AppendResultsRow(std::string_view id, double score, size_t schemes,
                             TierName&& tier_name, int64_t value_micros,
                             const double* contributions, size_t criteria, std::string* out) {
  AppendCsvField(id, out);
  out->push_back(',');
  AppendDouble(score, out);
  for (size_t s = 0; s < schemes; ++s) {
    out->push_back(',');
    AppendCsvField(tier_name(s), out);
  }
  out->push_back(',');
  AppendMicros(value_micros, out);
  for (size_t c = 0; c < criteria; ++c) {
    out->push_back(',');
    AppendDouble(contributions[c], out);
  }
  out->push_back('\n');
}

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_RESULTS_CSV_H_

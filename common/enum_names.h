#ifndef TIERSCORE_COMMON_ENUM_NAMES_H_
#define TIERSCORE_COMMON_ENUM_NAMES_H_

// The one place that names enum values the way files and messages show them
// (`minmax` for NORMALIZATION_MINMAX) and that refuses unset or unknown enum
// values: a client that leaves an enum at 0, or sends a number this server
// does not know, gets INVALID_ARGUMENT, never a silent default.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"

namespace tierscore::common {

// "NORMALIZATION_MINMAX" -> "minmax": the enum's prefix dropped, lower case.
inline std::string EnumShortName(const google::protobuf::EnumValueDescriptor* v) {
  std::string prefix;
  for (char c : v->type()->name()) {
    if (absl::ascii_isupper(c) && !prefix.empty()) prefix += '_';
    prefix += absl::ascii_toupper(c);
  }
  prefix += '_';
  std::string name = v->name();
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

// The short names of every value but the unset one (0), in order.
inline std::vector<std::string> EnumChoices(const google::protobuf::EnumDescriptor* e) {
  std::vector<std::string> names;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() != 0) names.push_back(EnumShortName(e->value(i)));
  }
  return names;
}

// OK for a known, non-zero value of `e`; else INVALID_ARGUMENT naming
// `field` and the choices.
inline absl::Status CheckEnumSet(const google::protobuf::EnumDescriptor* e, int value,
                                 const std::string& field) {
  if (value != 0 && e->FindValueByNumber(value) != nullptr) return absl::OkStatus();
  const std::string choices = absl::StrJoin(EnumChoices(e), ", ");
  if (value == 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is required (one of: ", choices, ")"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": unknown value ", value, " (expected one of: ", choices, ")"));
}

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_ENUM_NAMES_H_

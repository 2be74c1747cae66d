#ifndef TIERSCORE_COMMON_DEFAULTS_H_
#define TIERSCORE_COMMON_DEFAULTS_H_

// Defaults that more than one part of the system must agree on: the
// coordinator, the CLI and the docs read them from here.

#include <string>

namespace tierscore::common {

// The alias the CLI publishes to and looks up when none is named (the API
// has no default: a job names its alias or sets no_publish).
inline constexpr char kDefaultAlias[] = "customers/default";

inline std::string AliasOrDefault(const std::string& alias) {
  return alias.empty() ? kDefaultAlias : alias;
}

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_DEFAULTS_H_

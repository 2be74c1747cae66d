#ifndef TIERSCORE_COMMON_CONFIG_LOADER_H_
#define TIERSCORE_COMMON_CONFIG_LOADER_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace tierscore::common {

// Fills `message` from YAML or JSON text (JSON is read as YAML flow style),
// mapping keys 1:1 onto proto field names through reflection.
//
// Rules: enum values are written in lower case without the enum's prefix
// (`normalize: minmax` for NORMALIZATION_MINMAX), or by their full name as
// protobuf's JSON writes them; a message whose only field
// is a repeated field may be written as that list (`[ladder, segment]` for a
// GroupingSet). Unknown keys, wrong types and bad enum values are errors.
//
// Errors are INVALID_ARGUMENT and name the place and the field path:
//   "policy.yaml:12:15: criteria[1].normalize: unknown value "maxx" (expected
//    one of: none, max, minmax, zscore, percentile)"
// `source_name` is used as the file name in messages. On error `message` may
// be partially filled.
absl::Status ParseYamlToProto(const std::string& text, const std::string& source_name,
                              google::protobuf::Message* message);

// Reads `path` and parses it with ParseYamlToProto. NOT_FOUND if the file
// cannot be read.
absl::Status LoadYamlFile(const std::string& path, google::protobuf::Message* message);

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_CONFIG_LOADER_H_

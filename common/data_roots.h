#ifndef TIERSCORE_COMMON_DATA_ROOTS_H_
#define TIERSCORE_COMMON_DATA_ROOTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tierscore::common {

// The directories inputs may be read from (--data-root), so that a caller
// cannot make a server read any file the process can. A path is allowed
// when it is absolute, has no "." or ".." component, lies under a root as
// written, still lies under a root once every symbolic link is resolved,
// and is a regular file. A path outside every root is refused before the
// file system is touched, with a message that says nothing about whether
// the file exists. With no roots, every path is allowed (unconfined).
// Immutable after Create: thread-safe.
class DataRoots {
 public:
  // INVALID_ARGUMENT naming a root that is not an absolute path to an
  // existing directory.
  static absl::StatusOr<DataRoots> Create(const std::vector<std::string>& roots);
  DataRoots() = default;  // unconfined

  bool confined() const { return !roots_.empty(); }

  // OK for an allowed path. PERMISSION_DENIED "<field>: <path> is outside
  // the data roots" for a path outside (lexically or through a link) and
  // "... is not a regular file" for a device, directory or pipe inside;
  // NOT_FOUND when a path inside does not exist. `path` is shown cut and
  // escaped.
  absl::Status Check(const std::string& path, absl::string_view field) const;
  // Only the checks that need no file system (absolute, no "." or "..",
  // under a root as written): for a server that does not see the files.
  absl::Status CheckLexically(const std::string& path, absl::string_view field) const;

  const std::vector<std::string>& roots() const { return given_; }

 private:
  // Whether `path` names a root itself (with or without its last slash).
  bool IsRoot(const std::string& path) const;
  static absl::Status RootError(const std::string& path, absl::string_view field);
  // Each root as given and as resolved, with a trailing '/'.
  std::vector<std::string> given_;
  std::vector<std::string> roots_;
};

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_DATA_ROOTS_H_

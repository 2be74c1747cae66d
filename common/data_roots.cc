#include "common/data_roots.h"

#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tierscore::common {
namespace {

std::string Shown(const std::string& path) {
  return absl::StrCat("\"", absl::CHexEscape(path.substr(0, 256)), path.size() > 256 ? "..." : "",
                      "\"");
}

std::string WithSlash(std::string dir) {
  if (dir.empty() || dir.back() != '/') dir += '/';
  return dir;
}

bool Under(const std::string& path, const std::vector<std::string>& roots) {
  for (const std::string& root : roots) {
    if (absl::StartsWith(path, root)) return true;
  }
  return false;
}

// The path with every link resolved; empty if it cannot be resolved.
std::string Resolved(const std::string& path) {
  char buffer[PATH_MAX];
  if (realpath(path.c_str(), buffer) == nullptr) return "";
  return buffer;
}

}  // namespace

absl::StatusOr<DataRoots> DataRoots::Create(const std::vector<std::string>& roots) {
  DataRoots out;
  for (const std::string& root : roots) {
    struct stat st;
    const std::string resolved = Resolved(root);
    if (root.empty() || root.front() != '/' || resolved.empty() ||
        stat(resolved.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("data-root: ", Shown(root), " is not an absolute path to a directory"));
    }
    out.given_.push_back(WithSlash(root));
    out.roots_.push_back(WithSlash(resolved));
    out.roots_.push_back(WithSlash(root));
  }
  return out;
}

bool DataRoots::IsRoot(const std::string& path) const {
  return std::find(roots_.begin(), roots_.end(), WithSlash(path)) != roots_.end();
}

absl::Status DataRoots::RootError(const std::string& path, absl::string_view field) {
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": ", Shown(path), " is a data root, not a file"));
}

absl::Status DataRoots::CheckLexically(const std::string& path, absl::string_view field) const {
  if (!confined()) return absl::OkStatus();
  absl::Status outside = absl::PermissionDeniedError(
      absl::StrCat(field, ": ", Shown(path), " is outside the data roots"));
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos) return outside;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "." || part == "..") return outside;
  }
  if (!Under(path, given_) && !Under(path, roots_))
    return IsRoot(path) ? RootError(path, field) : outside;
  return absl::OkStatus();
}

absl::Status DataRoots::Check(const std::string& path, absl::string_view field) const {
  if (!confined()) return absl::OkStatus();
  if (absl::Status st = CheckLexically(path, field); !st.ok()) return st;
  const std::string resolved = Resolved(path);
  if (resolved.empty()) {
    struct stat link;
    if (lstat(path.c_str(), &link) == 0) {  // a link that leads nowhere (we show no further)
      return absl::PermissionDeniedError(
          absl::StrCat(field, ": ", Shown(path), " is outside the data roots"));
    }
    return absl::NotFoundError(absl::StrCat(field, ": ", Shown(path), " does not exist"));
  }
  if (!Under(resolved, roots_)) {
    if (IsRoot(resolved)) return RootError(path, field);
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": ", Shown(path), " is outside the data roots"));
  }
  struct stat st;
  if (stat(resolved.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": ", Shown(path), " is not a regular file"));
  }
  return absl::OkStatus();
}

}  // namespace tierscore::common

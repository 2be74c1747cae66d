#include "common/files.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tierscore::common {

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    const int error = errno;
    const std::string what = absl::StrCat("cannot write ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(what);
    if (error == EACCES || error == EPERM || error == EROFS) {
      return absl::PermissionDeniedError(what);
    }
    return absl::InvalidArgumentError(what);
  }
  return std::unique_ptr<AtomicFile>(new AtomicFile(path, f));
}

AtomicFile::~AtomicFile() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  std::remove(tmp_.c_str());
}

absl::Status AtomicFile::Append(std::string_view data) {
  if (file_ == nullptr || std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return absl::DataLossError(absl::StrCat("failed writing ", path_));
  }
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": committed"));
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!closed || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    return absl::DataLossError(absl::StrCat("failed writing ", path_));
  }
  return absl::OkStatus();
}

absl::Status CheckWritable(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", path, " is a directory"));
  }
  const fs::path parent = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : ".";
  if (!fs::is_directory(parent, ec)) {
    return absl::NotFoundError(
        absl::StrCat(what, ": directory ", parent.string(), " does not exist"));
  }
  if (access(parent.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, ": directory ", parent.string(), " is not writable"));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  TS_ASSIGN_OR_RETURN(auto file, AtomicFile::Create(path));
  TS_RETURN_IF_ERROR(file->Append(text));
  return file->Commit();
}

}  // namespace tierscore::common

#ifndef TIERSCORE_COMMON_FILES_H_
#define TIERSCORE_COMMON_FILES_H_

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tierscore::common {

// A file written to a temporary beside `path` and renamed into place by
// Commit, so that readers never see a partial file and a failed write
// leaves the old file (or none). The temporary has a name of its own
// (`.<name>.tmp-XXXXXX`), created exclusively, so that a link planted
// beside the output is never followed; Commit syncs the file, renames it
// and syncs the directory, so that a crash leaves the old file or the new
// one. Destroyed without a Commit, it removes the temporary; so does a
// signal, once InstallTemporaryFileCleanup has run. Not thread-safe.
class AtomicFile {
 public:
  // NOT_FOUND (no such directory), PERMISSION_DENIED or INVALID_ARGUMENT
  // naming the path if it cannot be created.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(const std::string& path);
  ~AtomicFile();

  // DATA_LOSS naming the path on a failed write.
  absl::Status Append(std::string_view data);
  absl::Status Commit();

  const std::string& temporary_path() const { return tmp_; }

 private:
  AtomicFile(std::string path, std::string tmp, std::FILE* file, int slot)
      : path_(std::move(path)), tmp_(std::move(tmp)), file_(file), slot_(slot) {}
  void Forget();

  const std::string path_;
  const std::string tmp_;
  std::FILE* file_;  // null once committed
  int slot_;         // in the cleanup registry; -1: not registered
};

// Makes SIGINT, SIGTERM and SIGHUP remove the temporaries of AtomicFiles
// that are open, then end the process as the signal would. For programs
// (the CLI); call once, early in main.
void InstallTemporaryFileCleanup();

// Whether a file can be made at `path` (its directory exists and is
// writable, and it is not a directory), to fail before long work rather
// than after: NOT_FOUND, PERMISSION_DENIED or INVALID_ARGUMENT, naming
// `what` (say, "--out").
absl::Status CheckWritable(const std::string& path, const std::string& what);

// One whole file through AtomicFile.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_FILES_H_

#include "common/files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tierscore::common {
namespace {

// The temporaries a signal handler removes: fixed slots of paths copied
// in, so that the handler only reads memory and calls unlink.
constexpr int kSlots = 64;
constexpr size_t kPathMax = 4096;
char temporaries[kSlots][kPathMax];
std::atomic<bool> slot_used[kSlots];

int Register(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (slot_used[i].compare_exchange_strong(expected, true)) {
      std::memcpy(temporaries[i], path.c_str(), path.size() + 1);
      return i;
    }
  }
  return -1;  // more open at once than slots: removed on failure, not on signals
}

void Unregister(int slot) {
  if (slot >= 0) slot_used[slot].store(false);
}

extern "C" void RemoveTemporaries(int sig) {
  for (int i = 0; i < kSlots; ++i) {
    if (slot_used[i].load()) unlink(temporaries[i]);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

// INVALID_ARGUMENT unless `path` is absent or a regular file: a rename would
// replace a device, a pipe or a link with a plain file.
absl::Status CheckReplaceable(const std::string& path, const std::string& what) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return absl::OkStatus();
  const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISLNK(st.st_mode)  ? "a symbolic link"
                     : S_ISFIFO(st.st_mode) ? "a pipe"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "a device";
  return absl::InvalidArgumentError(
      absl::StrCat(what, path, " is ", kind,
                   ", not a regular file: give the path of a new or a "
                   "regular file (results are written beside it and renamed over it)"));
}

}  // namespace

void InstallTemporaryFileCleanup() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction action {};
    action.sa_handler = RemoveTemporaries;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, nullptr);
  }
}

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path) {
  TS_RETURN_IF_ERROR(CheckReplaceable(path, "cannot write "));
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string tmp = absl::StrCat(dir, "/.", p.filename().string(), ".tmp-XXXXXX");
  // mkostemp creates the file exclusively: an existing name, a planted
  // link included, is never opened.
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  std::FILE* f = fd < 0 ? nullptr : fdopen(fd, "wb");
  if (fd >= 0 && f == nullptr) close(fd);
  if (f == nullptr) {
    const int error = errno;
    const std::string what = absl::StrCat("cannot write ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(what);
    if (error == EACCES || error == EPERM || error == EROFS) {
      return absl::PermissionDeniedError(what);
    }
    return absl::InvalidArgumentError(what);
  }
  fchmod(fd, 0644);  // as an output file is made (mkostemp makes 0600)
  const int slot = Register(tmp);
  return std::unique_ptr<AtomicFile>(new AtomicFile(path, std::move(tmp), f, slot));
}

AtomicFile::~AtomicFile() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  Forget();
}

void AtomicFile::Forget() {
  unlink(tmp_.c_str());
  Unregister(slot_);
  slot_ = -1;
}

absl::Status AtomicFile::Append(std::string_view data) {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": committed"));
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return absl::DataLossError(absl::StrCat("failed writing ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": committed"));
  // The data on disk before the name points at it, and the name on disk
  // before we say it is there.
  const bool synced = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  // Checked again: the path may have become a link or a device meanwhile.
  if (absl::Status st = CheckReplaceable(path_, "cannot write "); !st.ok()) {
    Forget();
    return st;
  }
  if (!synced || !closed || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string error = std::strerror(errno);
    Forget();
    return absl::DataLossError(absl::StrCat("failed writing ", path_, ": ", error));
  }
  Unregister(slot_);
  slot_ = -1;
  const std::filesystem::path p(path_);
  const int dir =
      open(p.has_parent_path() ? p.parent_path().c_str() : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool dir_synced = dir >= 0 && fsync(dir) == 0;
  if (dir >= 0) close(dir);
  if (!dir_synced) {
    return absl::DataLossError(
        absl::StrCat(path_, " was written but its directory could not be synced"));
  }
  return absl::OkStatus();
}

absl::Status CheckWritable(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  TS_RETURN_IF_ERROR(CheckReplaceable(path, absl::StrCat(what, ": ")));
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

#include "coordinator/dataset_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "engine/csv.h"

namespace tierscore::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr char kPartial[] = ".partial";
constexpr size_t kMaxName = 128;

std::string Errno() { return std::strerror(errno); }

// Opens for appending (truncating first unless `append`), never through a
// symlink.
absl::StatusOr<std::FILE*> OpenForWrite(const std::string& path, bool append) {
  const int fd =
      open(path.c_str(),
           O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", path, ": ", Errno()));
  std::FILE* f = fdopen(fd, "ab");
  if (f == nullptr) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", Errno()));
  }
  return f;
}

// OK for a whole, valid gzip stream (zlib would read other bytes as they
// are, and a truncated stream only as far as it goes).
absl::Status CheckGzip(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) return absl::InternalError(absl::StrCat("cannot read ", path));
  std::string buffer(1 << 20, '\0');
  int n;
  bool first = true;
  while ((n = gzread(gz, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) {
    if (first && gzdirect(gz) == 1) {
      gzclose(gz);
      return absl::InvalidArgumentError("the data is not gzip-compressed (gzip was set)");
    }
    first = false;
  }
  // A stream cut short reads to its end without an error from gzread; zlib
  // reports it (Z_BUF_ERROR) through gzerror.
  int code = Z_OK;
  const std::string error = gzerror(gz, &code);
  gzclose(gz);
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {
    return absl::InvalidArgumentError(absl::StrCat("the gzip data is damaged: ", error));
  }
  return absl::OkStatus();
}

bool IsFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(path, ec));
}

}  // namespace

absl::Status DatasetStore::CheckName(const std::string& name, const std::string& field) {
  bool ok = !name.empty() && name.size() <= kMaxName && name.front() != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  const absl::string_view shown(name.data(), std::min<size_t>(name.size(), 64));
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": \"", absl::CHexEscape(shown), name.size() > 64 ? "..." : "",
                   "\" is not a dataset name (1 to ", kMaxName,
                   " letters, digits and . _ -, not starting with .)"));
}

absl::StatusOr<std::unique_ptr<DatasetStore>> DatasetStore::Create(const std::string& dir) {
  // Absolute and without `.` or `..`: the paths it hands out are inputs.
  const std::string datasets = (fs::absolute(dir).lexically_normal() / "datasets").string();
  std::error_code ec;
  fs::create_directories(fs::path(datasets) / kPartial, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", dir, ": cannot create ", datasets, ": ", ec.message()));
  }
  return std::unique_ptr<DatasetStore>(new DatasetStore(datasets));
}

absl::Status DatasetStore::CheckWritable(const std::string& dir) {
  fs::path path = fs::absolute(dir).lexically_normal() / "datasets" / kPartial;
  std::error_code ec;
  while (!fs::exists(path, ec) && path.has_parent_path() && path != path.parent_path()) {
    path = path.parent_path();
  }
  if (!fs::is_directory(path, ec) || ::access(path.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", dir, ": ", path.string(), " is not a directory this process may write to"));
  }
  return absl::OkStatus();
}

std::string DatasetStore::CompletePath(const std::string& name, bool gzip) const {
  return absl::StrCat(dir_, "/", name, gzip ? ".csv.gz" : ".csv");
}

std::string DatasetStore::PartialPath(const std::string& name, bool gzip) const {
  return absl::StrCat(dir_, "/", kPartial, "/", name, gzip ? ".csv.gz" : ".csv");
}

absl::StatusOr<std::unique_ptr<DatasetStore::Upload>> DatasetStore::Begin(const std::string& name,
                                                                          bool gzip,
                                                                          int64_t offset) {
  TS_RETURN_IF_ERROR(CheckName(name, "name"));
  if (offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat("offset: must be 0 or more, got ", offset));
  }
  if (IsFile(CompletePath(name, false)) || IsFile(CompletePath(name, true))) {
    return absl::AlreadyExistsError(
        absl::StrCat("dataset ", name, " exists; delete it first to upload it again"));
  }
  {
    absl::MutexLock lock(&mu_);
    if (!uploading_.insert(name).second) {
      return absl::AbortedError(absl::StrCat("dataset ", name, " is being uploaded already"));
    }
  }
  auto begin = [&]() -> absl::StatusOr<std::unique_ptr<Upload>> {
    const std::string partial = PartialPath(name, gzip);
    std::error_code ec;
    if (offset == 0) {
      fs::remove(PartialPath(name, !gzip), ec);  // an unfinished upload of the other kind
      TS_ASSIGN_OR_RETURN(std::FILE * f, OpenForWrite(partial, /*append=*/false));
      return std::unique_ptr<Upload>(new Upload(this, name, gzip, f, 0));
    }
    const int64_t have = IsFile(partial) ? static_cast<int64_t>(fs::file_size(partial, ec)) : -1;
    if (have != offset) {
      return absl::AbortedError(absl::StrCat(
          "offset: the upload of ", name, gzip ? " (gzip)" : "",
          have < 0
              ? " has not started: use offset 0"
              : absl::StrCat(" resumes at offset ", have, " (or 0 to start over), not ", offset)));
    }
    TS_ASSIGN_OR_RETURN(std::FILE * f, OpenForWrite(partial, /*append=*/true));
    return std::unique_ptr<Upload>(new Upload(this, name, gzip, f, offset));
  }();
  if (!begin.ok()) Release(name);
  return begin;
}

void DatasetStore::Release(const std::string& name) {
  absl::MutexLock lock(&mu_);
  uploading_.erase(name);
}

DatasetStore::Upload::~Upload() {
  if (file_ != nullptr) std::fclose(file_);
  store_->Release(name_);
}

absl::Status DatasetStore::Upload::Append(std::string_view data, uint32_t crc32) {
  if (file_ == nullptr) return absl::FailedPreconditionError("the upload is finished");
  const uint32_t actual = static_cast<uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  if (actual != crc32) {
    return absl::DataLossError(absl::StrCat("crc32: the chunk at offset ", bytes_, " of ", name_,
                                            " has CRC-32 ", actual, ", the message says ", crc32,
                                            "; resume at offset ", bytes_));
  }
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size() || std::fflush(file_) != 0) {
    return absl::InternalError(absl::StrCat("writing dataset ", name_, ": ", Errno()));
  }
  bytes_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::StatusOr<v1::Dataset> DatasetStore::Upload::Finish() {
  if (file_ == nullptr) return absl::FailedPreconditionError("the upload is finished");
  const bool synced = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  const std::string partial = store_->PartialPath(name_, gzip_);
  if (!synced) return absl::InternalError(absl::StrCat("writing dataset ", name_, ": ", Errno()));
  absl::Status whole = gzip_ ? CheckGzip(partial) : absl::OkStatus();
  auto header = whole.ok() ? engine::ReadHeader(partial) : absl::StatusOr<engine::CsvHeader>(whole);
  if (!header.ok()) {
    std::error_code ec;
    fs::remove(partial, ec);
    return absl::InvalidArgumentError(
        absl::StrCat("dataset ", name_, ": ",
                     absl::StrReplaceAll(header.status().message(), {{partial, "data"}})));
  }
  const std::string complete = store_->CompletePath(name_, gzip_);
  if (std::rename(partial.c_str(), complete.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("dataset ", name_, ": cannot move into place: ", Errno()));
  }
  return store_->Describe(name_, gzip_, /*complete=*/true);
}

absl::StatusOr<v1::Dataset> DatasetStore::Describe(const std::string& name, bool gzip,
                                                   bool complete) const {
  const std::string path = complete ? CompletePath(name, gzip) : PartialPath(name, gzip);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("no dataset ", name));
  }
  v1::Dataset d;
  d.set_name(name);
  d.set_complete(complete);
  d.set_bytes(st.st_size);
  d.set_gzip(gzip);
  d.set_modified_unix(static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9);
  if (!complete) {
    absl::MutexLock lock(&mu_);
    d.set_uploading(uploading_.count(name) != 0);
  }
  if (complete) {
    d.set_path(path);
    auto header = engine::ReadHeader(path);
    if (header.ok()) {
      for (const std::string& c : header->columns) d.add_columns(c);
    }
  }
  return d;
}

absl::StatusOr<v1::Dataset> DatasetStore::Get(const std::string& name) const {
  TS_RETURN_IF_ERROR(CheckName(name, "name"));
  for (bool complete : {true, false}) {
    for (bool gzip : {false, true}) {
      auto d = Describe(name, gzip, complete);
      if (d.ok() || !absl::IsNotFound(d.status())) return d;
    }
  }
  return absl::NotFoundError(absl::StrCat("no dataset ", name));
}

std::vector<v1::Dataset> DatasetStore::List() const {
  std::vector<v1::Dataset> out;
  for (bool complete : {true, false}) {
    std::error_code ec;
    const fs::path dir = complete ? fs::path(dir_) : fs::path(dir_) / kPartial;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string file = entry.path().filename().string();
      const bool gzip = absl::EndsWith(file, ".csv.gz");
      if (!gzip && !absl::EndsWith(file, ".csv")) continue;
      const std::string name = file.substr(0, file.size() - (gzip ? 7 : 4));
      if (!CheckName(name, "name").ok()) continue;
      auto d = Describe(name, gzip, complete);
      if (d.ok()) out.push_back(*std::move(d));
    }
  }
  std::sort(out.begin(), out.end(), [](const v1::Dataset& a, const v1::Dataset& b) {
    return a.name() < b.name() || (a.name() == b.name() && a.complete() > b.complete());
  });
  return out;
}

absl::Status DatasetStore::Delete(const std::string& name) {
  TS_RETURN_IF_ERROR(CheckName(name, "name"));
  {
    absl::MutexLock lock(&mu_);
    if (uploading_.count(name) != 0) {
      return absl::AbortedError(absl::StrCat("dataset ", name, " is being uploaded"));
    }
  }
  bool removed = false;
  for (const std::string& path : {CompletePath(name, false), CompletePath(name, true),
                                  PartialPath(name, false), PartialPath(name, true)}) {
    std::error_code ec;
    removed |= fs::remove(path, ec);
  }
  if (!removed) return absl::NotFoundError(absl::StrCat("no dataset ", name));
  return absl::OkStatus();
}

absl::StatusOr<std::string> DatasetStore::PathOf(const std::string& name,
                                                 const std::string& field) const {
  TS_RETURN_IF_ERROR(CheckName(name, field));
  for (bool gzip : {false, true}) {
    if (IsFile(CompletePath(name, gzip))) return CompletePath(name, gzip);
  }
  return absl::NotFoundError(
      absl::StrCat(field, ": no dataset ", name, " (or its upload has not finished)"));
}

}  // namespace tierscore::coordinator

#ifndef TIERSCORE_COORDINATOR_DATASET_STORE_H_
#define TIERSCORE_COORDINATOR_DATASET_STORE_H_

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tierscore/v1/coordinator.pb.h"

namespace tierscore::coordinator {

// Uploaded datasets in a directory the workers share (the coordinator's
// --data-dir): `<dir>/datasets/<name>.csv` or `.csv.gz` once complete,
// `<dir>/datasets/.partial/<name>...` while an upload is unfinished, so
// that a job never reads half a file and an interrupted upload resumes
// where it stopped (what was received is on disk, flushed per chunk).
//
// Thread-safe. One upload per name at a time; a second gets ABORTED.
class DatasetStore {
 public:
  // Creates the directories. FAILED_PRECONDITION naming `dir` if it cannot.
  static absl::StatusOr<std::unique_ptr<DatasetStore>> Create(const std::string& dir);
  // Create's check without creating anything: the directories exist and are
  // writable by this process, or the nearest one that exists is.
  static absl::Status CheckWritable(const std::string& dir);

  // `<dir>/datasets`, absolute and normal: where complete datasets are.
  const std::string& directory() const { return dir_; }

  // An upload in progress: chunks appended in order. Destroyed without
  // Finish, it keeps what it received for a resume.
  class Upload {
   public:
    ~Upload();
    // DATA_LOSS (nothing appended) when `crc32` is not the data's.
    absl::Status Append(std::string_view data, uint32_t crc32);
    // Checks the data (a whole gzip stream, when gzip; a header of unique,
    // UTF-8 names) and makes the dataset usable; INVALID_ARGUMENT (the
    // received data is dropped) when it is not.
    absl::StatusOr<v1::Dataset> Finish();
    int64_t bytes() const { return bytes_; }

   private:
    friend class DatasetStore;
    Upload(DatasetStore* store, std::string name, bool gzip, std::FILE* file, int64_t bytes)
        : store_(store), name_(std::move(name)), gzip_(gzip), file_(file), bytes_(bytes) {}

    DatasetStore* const store_;
    const std::string name_;
    const bool gzip_;
    std::FILE* file_;  // null once finished
    int64_t bytes_;
  };

  // Starts (offset 0) or resumes (offset = bytes received) an upload.
  // INVALID_ARGUMENT for a bad name; ALREADY_EXISTS for a complete dataset;
  // ABORTED while another upload of it runs or for an offset that is not
  // where the unfinished upload stands (read it again: Get).
  absl::StatusOr<std::unique_ptr<Upload>> Begin(const std::string& name, bool gzip, int64_t offset);
  absl::StatusOr<v1::Dataset> Get(const std::string& name) const;  // NOT_FOUND
  std::vector<v1::Dataset> List() const;
  absl::Status Delete(const std::string& name);  // NOT_FOUND
  // The file of a complete dataset, for a job: NOT_FOUND naming `field`.
  absl::StatusOr<std::string> PathOf(const std::string& name, const std::string& field) const;

  // OK for a name of 1 to 128 letters, digits, '.', '_', '-', not starting
  // with '.'; else INVALID_ARGUMENT naming `field`.
  static absl::Status CheckName(const std::string& name, const std::string& field);

 private:
  explicit DatasetStore(std::string dir) : dir_(std::move(dir)) {}
  std::string CompletePath(const std::string& name, bool gzip) const;
  std::string PartialPath(const std::string& name, bool gzip) const;
  absl::StatusOr<v1::Dataset> Describe(const std::string& name, bool gzip, bool complete) const;
  void Release(const std::string& name);

  const std::string dir_;  // <data-dir>/datasets
  mutable absl::Mutex mu_;
  std::set<std::string> uploading_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_DATASET_STORE_H_

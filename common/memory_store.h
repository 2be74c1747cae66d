#ifndef TIERSCORE_COMMON_MEMORY_STORE_H_
#define TIERSCORE_COMMON_MEMORY_STORE_H_

#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/store.h"

namespace tierscore::common {

// Store in this process's memory: for local mode and unit tests. Expiry is
// checked on access against `now` (absl::Now by default; tests inject a
// clock). Thread-safe.
class MemoryStore : public Store {
 public:
  explicit MemoryStore(std::function<absl::Time()> now = absl::Now) : now_(std::move(now)) {}

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) override;
  absl::Status Set(const std::string& key, const std::string& value, absl::Duration ttl) override;
  absl::StatusOr<bool> CompareAndSet(const std::string& key,
                                     const std::optional<std::string>& expected,
                                     const std::string& value) override;
  absl::Status Delete(const std::vector<std::string>& keys) override;
  absl::Status Expire(const std::string& key, absl::Duration ttl) override;
  absl::Status ExpireMany(const std::vector<std::string>& keys, absl::Duration ttl) override;
  absl::Status PersistMany(const std::vector<std::string>& keys) override;
  absl::Status RenameMany(const std::vector<std::pair<std::string, std::string>>& pairs) override;
  absl::Status HashSet(const std::vector<HashField>& fields) override;
  absl::Status HashDelete(
      const std::vector<std::pair<std::string, std::string>>& key_fields) override;
  absl::StatusOr<std::vector<Fields>> HashGetAllMany(const std::vector<std::string>& keys) override;
  absl::StatusOr<std::vector<std::optional<std::string>>> HashGet(
      const std::vector<std::pair<std::string, std::string>>& key_fields) override;

 private:
  struct Entry {
    std::string value;                                   // a string key
    absl::flat_hash_map<std::string, std::string> hash;  // a hash key
    bool is_hash = false;
    absl::Time expires = absl::InfiniteFuture();
  };
  // The live entry for `key`, or null (dropping it if it expired).
  Entry* Find(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_MEMORY_STORE_H_

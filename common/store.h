#ifndef TIERSCORE_COMMON_STORE_H_
#define TIERSCORE_COMMON_STORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tierscore::common {

// The one storage interface of tierscore (published runs, aliases, the job
// store, the result cache): keys with string values, and hashes. Two
// implementations share one contract test suite: RedisStore and
// MemoryStore.
//
// Keys are the caller's; an implementation may add a prefix of its own
// (never visible to callers). Values are arbitrary bytes.
//
// Thread-safe. Errors: UNAVAILABLE when the backend cannot be reached (try
// later; nothing was half-applied by a single-key call), INVALID_ARGUMENT for
// bad arguments.
class Store {
 public:
  virtual ~Store() = default;

  virtual absl::StatusOr<std::optional<std::string>> Get(const std::string& key) = 0;
  // `ttl` of InfiniteDuration keeps the key until it is deleted.
  virtual absl::Status Set(const std::string& key, const std::string& value,
                           absl::Duration ttl = absl::InfiniteDuration()) = 0;
  // Sets `key` to `value` (no time to live) only if it now holds
  // `expected` (nullopt: only if it does not exist), atomically: true if it
  // was set, false (and nothing changed) if the key held something else.
  virtual absl::StatusOr<bool> CompareAndSet(const std::string& key,
                                             const std::optional<std::string>& expected,
                                             const std::string& value) = 0;
  virtual absl::Status Delete(const std::vector<std::string>& keys) = 0;
  // Sets a key's time to live; NOT_FOUND if the key does not exist.
  virtual absl::Status Expire(const std::string& key, absl::Duration ttl) = 0;
  // The same for many keys in one round trip; keys that do not exist are
  // skipped.
  virtual absl::Status ExpireMany(const std::vector<std::string>& keys, absl::Duration ttl) = 0;
  // Removes the time to live of many keys (they stay until deleted) in one
  // round trip; keys that do not exist are skipped.
  virtual absl::Status PersistMany(const std::vector<std::string>& keys) = 0;
  // Renames keys, (from, to) pairs, in one round trip: `to` is replaced
  // and takes `from`'s value and time to live. Pairs whose `from` does not
  // exist are skipped.
  virtual absl::Status RenameMany(
      const std::vector<std::pair<std::string, std::string>>& pairs) = 0;

  struct HashField {
    std::string key;
    std::string field;
    std::string value;
  };
  // Writes many fields of many hashes in one round trip.
  virtual absl::Status HashSet(const std::vector<HashField>& fields) = 0;
  // Removes (key, field) pairs in one round trip; missing ones are fine. A
  // hash left without fields is gone.
  virtual absl::Status HashDelete(
      const std::vector<std::pair<std::string, std::string>>& key_fields) = 0;
  using Fields = std::vector<std::pair<std::string, std::string>>;
  // Every field of each hash, sorted by field (empty for a key that does
  // not exist), in one round trip.
  virtual absl::StatusOr<std::vector<Fields>> HashGetAllMany(
      const std::vector<std::string>& keys) = 0;
  // The same for one hash.
  absl::StatusOr<Fields> HashGetAll(const std::string& key) {
    absl::StatusOr<std::vector<Fields>> all = HashGetAllMany({key});
    if (!all.ok()) return all.status();
    return std::move((*all)[0]);
  }
  // Reads (key, field) pairs in one round trip; nullopt where missing.
  virtual absl::StatusOr<std::vector<std::optional<std::string>>> HashGet(
      const std::vector<std::pair<std::string, std::string>>& key_fields) = 0;
};

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_STORE_H_

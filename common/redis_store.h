#ifndef TIERSCORE_COMMON_REDIS_STORE_H_
#define TIERSCORE_COMMON_REDIS_STORE_H_

#include <memory>
#include <string>

#include "common/redis_client.h"
#include "common/store.h"

namespace tierscore::common {

struct RedisStoreOptions {
  RedisOptions redis;
  // Prepended to every key, so that several deployments (or tests) can
  // share one Redis database.
  std::string key_prefix = "tierscore:";
};

// Store on Redis: strings with SET/GET (PX for TTLs), hashes with HSET/HGET,
// many-field calls pipelined into one round trip. Recovers by itself when
// Redis comes back (see RedisClient). Thread-safe.
class RedisStore : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<RedisStore>> Create(const RedisStoreOptions& options);

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
  RedisStore(std::unique_ptr<RedisClient> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}
  std::string Key(const std::string& key) const { return prefix_ + key; }
  // Pipelines commands whose second word is a prefixed key; an error reply
  // names that key.
  absl::Status RunKeyedCommands(const std::vector<std::vector<std::string>>& commands);

  std::unique_ptr<RedisClient> client_;
  const std::string prefix_;
};

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_REDIS_STORE_H_

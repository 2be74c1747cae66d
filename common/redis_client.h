#ifndef TIERSCORE_COMMON_REDIS_CLIENT_H_
#define TIERSCORE_COMMON_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct redisContext;

namespace tierscore::common {

// Where a Redis server is:
//   redis://[:password@]host:port[/db]     (TCP; port defaults to 6379)
//   unix:///path/to/redis.sock[?db=N]      (a unix socket; a password as
//   unix://:password@/path?db=N)
struct RedisAddress {
  bool unix_socket = false;
  std::string host;
  int port = 6379;
  std::string path;
  std::string password;
  int db = 0;
};

// INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<RedisAddress> ParseRedisAddress(const std::string& address);

// `address` with its credentials replaced by "***", for messages and logs:
// a password never appears in either.
std::string RedactRedisAddress(const std::string& address);

struct RedisReply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<RedisReply> elements;
};

// The status for an error reply `message` of a command on `what` (a key or
// a command name): UNAVAILABLE for a server that is loading its data or
// busy (LOADING, BUSY, TRYAGAIN, MASTERDOWN: retry), FAILED_PRECONDITION
// for WRONGTYPE (the caller's mistake), INTERNAL otherwise.
absl::Status RedisErrorStatus(const std::string& what, const std::string& message);

struct RedisOptions {
  std::string address = "redis://127.0.0.1:6379/0";
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(2);
  int pool_size = 64;  // idle connections kept open (lookups run concurrently)
  // The password (AUTH); when set, it replaces one in the address. Read
  // from a file or the environment by the binaries, never from argv.
  std::string password{};
};

// A small client over hiredis: a pool of connections, each authenticated
// and on its database; commands and pipelines run on one connection each.
// A connection that fails (refused, timed out, closed) is dropped and made
// again on a later call, so the client recovers by itself when the server
// comes back.
//
// Thread-safe. Errors: UNAVAILABLE when the server cannot be reached or a
// command times out; INTERNAL for an error reply (its message).
class RedisClient {
 public:
  // Validates the address; connects lazily.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Create(const RedisOptions& options);
  ~RedisClient();

  // One command, e.g. {"SET", key, value}.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args);

  // Commands sent together and answered in order: one round trip. Error
  // replies are returned in place (as kError); only a connection failure
  // fails the call (UNAVAILABLE). A pooled connection found closed before
  // any reply (the server restarted) is replaced and the commands sent
  // again once: use this client for commands that may be repeated.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  const RedisAddress& address() const { return address_; }

 private:
  struct Connection;

  RedisClient(const RedisOptions& options, RedisAddress address);
  // An idle connection (`reused`) or a new one.
  absl::StatusOr<std::unique_ptr<Connection>> Acquire(bool* reused);
  void Return(std::unique_ptr<Connection> c);
  // Sends the commands and reads their replies; `answered` once any came.
  absl::StatusOr<std::vector<RedisReply>> Send(
      Connection& c, const std::vector<std::vector<std::string>>& commands, bool* answered);

  const RedisOptions options_;
  const RedisAddress address_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_REDIS_CLIENT_H_

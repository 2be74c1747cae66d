#include "common/redis_client.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace tierscore::common {
namespace {

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

absl::Status InvalidAddress(const std::string& address, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("redis address \"", RedactRedisAddress(address), "\": ", what,
                   " (expected redis://[:password@]host:port[/db] or unix:///path[?db=N])"));
}

}  // namespace

std::string RedactRedisAddress(const std::string& address) {
  // Everything up to the last '@' may be credentials (a password can hold
  // '@'), whatever the scheme, even a mistyped one.
  const size_t at = address.rfind('@');
  if (at == std::string::npos) return address;
  const size_t scheme = address.find("://");
  const size_t keep = scheme != std::string::npos && scheme < at ? scheme + 3 : 0;
  return absl::StrCat(address.substr(0, keep), "***", address.substr(at));
}

absl::StatusOr<RedisAddress> ParseRedisAddress(const std::string& address) {
  RedisAddress out;
  std::string rest;
  if (absl::StartsWith(address, "redis://")) {
    rest = address.substr(8);
  } else if (absl::StartsWith(address, "unix://")) {
    out.unix_socket = true;
    rest = address.substr(7);
  } else {
    return InvalidAddress(address, "unknown scheme");
  }
  // Credentials: [:password@]; a TCP password may hold '@' (hosts cannot).
  const size_t at = out.unix_socket ? rest.find('@') : rest.rfind('@');
  if (at != std::string::npos) {
    const std::string creds = rest.substr(0, at);
    const size_t colon = creds.find(':');
    out.password = colon == std::string::npos ? creds : creds.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  if (out.unix_socket) {
    const size_t q = rest.find('?');
    out.path = rest.substr(0, q);
    if (out.path.empty() || out.path[0] != '/') return InvalidAddress(address, "no socket path");
    if (q != std::string::npos) {
      const std::string query = rest.substr(q + 1);
      if (!absl::StartsWith(query, "db=") || !absl::SimpleAtoi(query.substr(3), &out.db) ||
          out.db < 0) {
        return InvalidAddress(address, "bad ?db=");
      }
    }
    return out;
  }
  const size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos && slash + 1 < rest.size()) {
    if (!absl::SimpleAtoi(rest.substr(slash + 1), &out.db) || out.db < 0) {
      return InvalidAddress(address, "bad database index");
    }
  }
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {  // [v6]:port
    const size_t close = hostport.find(']');
    if (close == std::string::npos) return InvalidAddress(address, "unclosed [");
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return InvalidAddress(address, "expected :port after ]");
      port = hostport.substr(close + 2);
    }
    hostport = hostport.substr(1, close - 1);
  } else if (const size_t colon = hostport.find(':'); colon != std::string::npos) {
    if (hostport.find(':', colon + 1) != std::string::npos) {
      return InvalidAddress(address, "an IPv6 host needs brackets");
    }
    port = hostport.substr(colon + 1);
    hostport = hostport.substr(0, colon);
  }
  if (!port.empty() && (!absl::SimpleAtoi(port, &out.port) || out.port <= 0 || out.port > 65535)) {
    return InvalidAddress(address, "bad port");
  }
  if (hostport.empty()) return InvalidAddress(address, "no host");
  out.host = hostport;
  return out;
}

struct RedisClient::Connection {
  ~Connection() {
    if (ctx != nullptr) redisFree(ctx);
  }
  redisContext* ctx = nullptr;
};

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(const RedisOptions& options) {
  TS_ASSIGN_OR_RETURN(RedisAddress address, ParseRedisAddress(options.address));
  if (!options.password.empty()) address.password = options.password;
  return std::unique_ptr<RedisClient>(new RedisClient(options, std::move(address)));
}

RedisClient::RedisClient(const RedisOptions& options, RedisAddress address)
    : options_(options), address_(std::move(address)) {}

RedisClient::~RedisClient() = default;

absl::StatusOr<std::unique_ptr<RedisClient::Connection>> RedisClient::Acquire(bool* reused) {
  {
    absl::MutexLock lock(&mu_);
    *reused = !idle_.empty();
    if (*reused) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<Connection>();
  c->ctx = address_.unix_socket
               ? redisConnectUnixWithTimeout(address_.path.c_str(),
                                             absl::ToTimeval(options_.connect_timeout))
               : redisConnectWithTimeout(address_.host.c_str(), address_.port,
                                         absl::ToTimeval(options_.connect_timeout));
  const std::string where =
      address_.unix_socket ? address_.path : absl::StrCat(address_.host, ":", address_.port);
  if (c->ctx == nullptr || c->ctx->err != 0) {
    return absl::UnavailableError(absl::StrCat(
        "redis at ", where, " is unreachable: ", c->ctx != nullptr ? c->ctx->errstr : "no memory"));
  }
  redisSetTimeout(c->ctx, absl::ToTimeval(options_.command_timeout));
  // Authenticate and select the database before the connection is used.
  std::vector<std::vector<std::string>> setup;
  if (!address_.password.empty()) setup.push_back({"AUTH", address_.password});
  if (address_.db != 0) setup.push_back({"SELECT", std::to_string(address_.db)});
  if (!setup.empty()) {
    bool answered = false;
    auto replies = Send(*c, setup, &answered);
    if (!replies.ok()) {
      return absl::UnavailableError(
          absl::StrCat("redis at ", where, ": ", replies.status().message()));
    }
    for (size_t i = 0; i < setup.size(); ++i) {
      if ((*replies)[i].type == RedisReply::Type::kError) {
        return absl::PermissionDeniedError(
            absl::StrCat("redis at ", where, ": ", setup[i][0], ": ", (*replies)[i].str));
      }
    }
  }
  return c;
}

void RedisClient::Return(std::unique_ptr<Connection> c) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < options_.pool_size) idle_.push_back(std::move(c));
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  bool reused = false;
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Acquire(&reused));
  bool answered = false;
  absl::StatusOr<std::vector<RedisReply>> replies = Send(*c, commands, &answered);
  if (!replies.ok() && reused && !answered) {
    // A pooled connection the server closed (say, it restarted): the
    // others are as stale. Sent again once, on a new connection; every
    // command this client is used for may be repeated (SET, HSET, PEXPIRE,
    // DEL and reads).
    {
      absl::MutexLock lock(&mu_);
      idle_.clear();
    }
    TS_ASSIGN_OR_RETURN(c, Acquire(&reused));
    replies = Send(*c, commands, &answered);
  }
  // After a failure the connection is in an unknown state: dropped.
  if (replies.ok()) Return(std::move(c));
  return replies;
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Send(
    Connection& c, const std::vector<std::vector<std::string>>& commands, bool* answered) {
  // Formatted here and written with send(MSG_NOSIGNAL): a server that
  // closed the connection must not raise SIGPIPE, which would kill the
  // process, and a library must not change process-wide signal handling.
  // (hiredis would write() its own buffer; it only reads here.)
  std::string out;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& cmd : commands) {
    argv.clear();
    lens.clear();
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    char* formatted = nullptr;
    const int len =
        redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (len < 0) return absl::ResourceExhaustedError("redis: out of memory formatting a command");
    out.append(formatted, static_cast<size_t>(len));
    redisFreeCommand(formatted);
  }
  for (size_t at = 0; at < out.size();) {
    const ssize_t n = send(c.ctx->fd, out.data() + at, out.size() - at, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("redis: ", errno == EAGAIN || errno == EWOULDBLOCK
                                                                ? "write timed out"
                                                                : std::strerror(errno)));
    }
    at += static_cast<size_t>(n);
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c.ctx, &raw) != REDIS_OK || raw == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("redis: ", c.ctx->errstr[0] ? c.ctx->errstr : "no reply"));
    }
    *answered = true;
    replies.push_back(Convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

absl::Status RedisErrorStatus(const std::string& what, const std::string& message) {
  const std::string text = absl::StrCat("redis: ", what, ": ", message);
  for (const char* transient : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"}) {
    if (absl::StartsWith(message, transient)) return absl::UnavailableError(text);
  }
  if (absl::StartsWith(message, "WRONGTYPE")) return absl::FailedPreconditionError(text);
  return absl::InternalError(text);
}

absl::StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string>& args) {
  TS_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, Pipeline({args}));
  RedisReply r = std::move(replies[0]);
  if (r.type == RedisReply::Type::kError) return RedisErrorStatus(args[0], r.str);
  return r;
}

}  // namespace tierscore::common

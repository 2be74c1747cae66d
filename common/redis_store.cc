#include "common/redis_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tierscore::common {
namespace {

absl::Status ReplyError(const RedisReply& r, const std::string& key) {
  return RedisErrorStatus(absl::StrCat("key ", key), r.str);
}

absl::Status CheckTtl(absl::Duration ttl) {
  if (ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl must be positive, got ", absl::FormatDuration(ttl)));
  }
  return absl::OkStatus();
}

std::string Millis(absl::Duration d) {
  return std::to_string(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisStore>> RedisStore::Create(const RedisStoreOptions& options) {
  TS_ASSIGN_OR_RETURN(auto client, RedisClient::Create(options.redis));
  return std::unique_ptr<RedisStore>(new RedisStore(std::move(client), options.key_prefix));
}

absl::StatusOr<std::optional<std::string>> RedisStore::Get(const std::string& key) {
  TS_ASSIGN_OR_RETURN(auto replies, client_->Pipeline({{"GET", Key(key)}}));
  const RedisReply& r = replies[0];
  if (r.type == RedisReply::Type::kError) return ReplyError(r, key);
  if (r.type == RedisReply::Type::kNil) return std::optional<std::string>();
  return std::optional<std::string>(r.str);
}

absl::Status RedisStore::Set(const std::string& key, const std::string& value, absl::Duration ttl) {
  std::vector<std::string> cmd = {"SET", Key(key), value};
  if (ttl != absl::InfiniteDuration()) {
    TS_RETURN_IF_ERROR(CheckTtl(ttl));
    cmd.emplace_back("PX");
    cmd.push_back(Millis(ttl));
  }
  return client_->Command(cmd).status();
}

absl::StatusOr<bool> RedisStore::CompareAndSet(const std::string& key,
                                               const std::optional<std::string>& expected,
                                               const std::string& value) {
  // One script, so that no other client can write between the read and the
  // write. ARGV[1] says whether the key is expected to exist at all.
  static constexpr char kScript[] =
      "local cur = redis.call('GET', KEYS[1]) "
      "if (ARGV[1] == '0' and cur == false) or (ARGV[1] == '1' and cur == ARGV[2]) then "
      "  redis.call('SET', KEYS[1], ARGV[3]) return 1 end "
      "return 0";
  TS_ASSIGN_OR_RETURN(auto replies, client_->Pipeline({{"EVAL", kScript, "1", Key(key),
                                                        expected.has_value() ? "1" : "0",
                                                        expected.value_or(""), value}}));
  const RedisReply& r = replies[0];
  if (r.type == RedisReply::Type::kError) return ReplyError(r, key);
  return r.integer == 1;
}

absl::Status RedisStore::Delete(const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::OkStatus();
  std::vector<std::string> cmd = {"DEL"};
  for (const std::string& k : keys) cmd.push_back(Key(k));
  return client_->Command(cmd).status();
}

absl::Status RedisStore::Expire(const std::string& key, absl::Duration ttl) {
  TS_RETURN_IF_ERROR(CheckTtl(ttl));
  TS_ASSIGN_OR_RETURN(RedisReply r, client_->Command({"PEXPIRE", Key(key), Millis(ttl)}));
  if (r.integer == 0) return absl::NotFoundError(absl::StrCat("no key ", key));
  return absl::OkStatus();
}

absl::Status RedisStore::ExpireMany(const std::vector<std::string>& keys, absl::Duration ttl) {
  TS_RETURN_IF_ERROR(CheckTtl(ttl));
  std::vector<std::vector<std::string>> commands;
  for (const std::string& key : keys) commands.push_back({"PEXPIRE", Key(key), Millis(ttl)});
  if (commands.empty()) return absl::OkStatus();
  return client_->Pipeline(commands).status();
}

absl::Status RedisStore::PersistMany(const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> commands;
  for (const std::string& key : keys) commands.push_back({"PERSIST", Key(key)});
  if (commands.empty()) return absl::OkStatus();
  return client_->Pipeline(commands).status();
}

absl::Status RedisStore::RenameMany(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& [from, to] : pairs) commands.push_back({"RENAME", Key(from), Key(to)});
  if (commands.empty()) return absl::OkStatus();
  TS_ASSIGN_OR_RETURN(auto replies, client_->Pipeline(commands));
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].type != RedisReply::Type::kError) continue;
    if (absl::StrContains(replies[i].str, "no such key")) continue;  // skipped, as documented
    return ReplyError(replies[i], pairs[i].first);
  }
  return absl::OkStatus();
}

absl::Status RedisStore::RunKeyedCommands(const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return absl::OkStatus();
  TS_ASSIGN_OR_RETURN(auto replies, client_->Pipeline(commands));
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].type == RedisReply::Type::kError) {
      return ReplyError(replies[i], commands[i][1].substr(prefix_.size()));
    }
  }
  return absl::OkStatus();
}

absl::Status RedisStore::HashSet(const std::vector<HashField>& fields) {
  // One HSET per run of fields of the same key (at most 512 fields each).
  std::vector<std::vector<std::string>> commands;
  for (size_t i = 0; i < fields.size();) {
    std::vector<std::string> cmd = {"HSET", Key(fields[i].key)};
    const std::string& key = fields[i].key;
    for (size_t n = 0; i < fields.size() && fields[i].key == key && n < 512; ++i, ++n) {
      cmd.push_back(fields[i].field);
      cmd.push_back(fields[i].value);
    }
    commands.push_back(std::move(cmd));
  }
  return RunKeyedCommands(commands);
}

absl::Status RedisStore::HashDelete(
    const std::vector<std::pair<std::string, std::string>>& key_fields) {
  std::vector<std::vector<std::string>> commands;
  for (size_t i = 0; i < key_fields.size();) {
    std::vector<std::string> cmd = {"HDEL", Key(key_fields[i].first)};
    const std::string& key = key_fields[i].first;
    for (size_t n = 0; i < key_fields.size() && key_fields[i].first == key && n < 512; ++i, ++n) {
      cmd.push_back(key_fields[i].second);
    }
    commands.push_back(std::move(cmd));
  }
  return RunKeyedCommands(commands);
}

absl::StatusOr<std::vector<Store::Fields>> RedisStore::HashGetAllMany(
    const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(keys.size());
  for (const std::string& key : keys) commands.push_back({"HGETALL", Key(key)});
  std::vector<Fields> out(keys.size());
  if (keys.empty()) return out;
  TS_ASSIGN_OR_RETURN(auto replies, client_->Pipeline(commands));
  for (size_t k = 0; k < keys.size(); ++k) {
    RedisReply& r = replies[k];
    if (r.type == RedisReply::Type::kError) {
      if (absl::StartsWith(r.str, "WRONGTYPE")) continue;  // not a hash: no fields
      return ReplyError(r, keys[k]);
    }
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      out[k].emplace_back(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
    }
    std::sort(out[k].begin(), out[k].end());
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<std::string>>> RedisStore::HashGet(
    const std::vector<std::pair<std::string, std::string>>& key_fields) {
  // One HMGET per run of fields of the same key (callers that sort by key
  // send few commands).
  std::vector<std::vector<std::string>> commands;
  for (size_t i = 0; i < key_fields.size();) {
    const std::string& key = key_fields[i].first;
    std::vector<std::string> cmd = {"HMGET", Key(key)};
    for (size_t n = 0; i < key_fields.size() && key_fields[i].first == key && n < 512; ++i, ++n) {
      cmd.push_back(key_fields[i].second);
    }
    commands.push_back(std::move(cmd));
  }
  std::vector<std::optional<std::string>> out;
  if (commands.empty()) return out;
  out.reserve(key_fields.size());
  TS_ASSIGN_OR_RETURN(auto replies, client_->Pipeline(commands));
  for (size_t c = 0; c < replies.size(); ++c) {
    RedisReply& r = replies[c];
    const size_t fields = commands[c].size() - 2;
    if (r.type == RedisReply::Type::kError) {
      if (!absl::StartsWith(r.str, "WRONGTYPE")) {
        return ReplyError(r, commands[c][1].substr(prefix_.size()));
      }
      for (size_t f = 0; f < fields; ++f) out.emplace_back();  // not a hash: no such field
      continue;
    }
    for (size_t f = 0; f < fields; ++f) {
      if (f < r.elements.size() && r.elements[f].type == RedisReply::Type::kString) {
        out.emplace_back(std::move(r.elements[f].str));
      } else {
        out.emplace_back();
      }
    }
  }
  return out;
}

}  // namespace tierscore::common

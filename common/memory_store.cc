#include "common/memory_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tierscore::common {
namespace {

absl::Status CheckTtl(absl::Duration ttl) {
  if (ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl must be positive, got ", absl::FormatDuration(ttl)));
  }
  return absl::OkStatus();
}

}  // namespace

MemoryStore::Entry* MemoryStore::Find(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.expires <= now_()) {
    entries_.erase(it);
    return nullptr;
  }
  return &it->second;
}

absl::StatusOr<std::optional<std::string>> MemoryStore::Get(const std::string& key) {
  absl::MutexLock lock(&mu_);
  Entry* e = Find(key);
  if (e == nullptr) return std::optional<std::string>();
  if (e->is_hash) {
    return absl::FailedPreconditionError(absl::StrCat("key ", key, " holds a hash"));
  }
  return std::optional<std::string>(e->value);
}

absl::StatusOr<bool> MemoryStore::CompareAndSet(const std::string& key,
                                                const std::optional<std::string>& expected,
                                                const std::string& value) {
  absl::MutexLock lock(&mu_);
  Entry* e = Find(key);
  if (e != nullptr && e->is_hash) {
    return absl::FailedPreconditionError(absl::StrCat("key ", key, " holds a hash"));
  }
  const bool matches =
      e == nullptr ? !expected.has_value() : expected.has_value() && e->value == *expected;
  if (!matches) return false;
  Entry& set = entries_[key];
  set = Entry();
  set.value = value;
  set.expires = absl::InfiniteFuture();
  return true;
}

absl::Status MemoryStore::Set(const std::string& key, const std::string& value,
                              absl::Duration ttl) {
  if (ttl != absl::InfiniteDuration()) {
    absl::Status st = CheckTtl(ttl);
    if (!st.ok()) return st;
  }
  absl::MutexLock lock(&mu_);
  Entry& e = entries_[key];
  e = Entry();
  e.value = value;
  e.expires = ttl == absl::InfiniteDuration() ? absl::InfiniteFuture() : now_() + ttl;
  return absl::OkStatus();
}

absl::Status MemoryStore::Delete(const std::vector<std::string>& keys) {
  absl::MutexLock lock(&mu_);
  for (const std::string& k : keys) entries_.erase(k);
  return absl::OkStatus();
}

absl::Status MemoryStore::Expire(const std::string& key, absl::Duration ttl) {
  absl::Status st = CheckTtl(ttl);
  if (!st.ok()) return st;
  absl::MutexLock lock(&mu_);
  Entry* e = Find(key);
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("no key ", key));
  e->expires = now_() + ttl;
  return absl::OkStatus();
}

absl::Status MemoryStore::ExpireMany(const std::vector<std::string>& keys, absl::Duration ttl) {
  absl::Status st = CheckTtl(ttl);
  if (!st.ok()) return st;
  absl::MutexLock lock(&mu_);
  for (const std::string& key : keys) {
    if (Entry* e = Find(key); e != nullptr) e->expires = now_() + ttl;
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::PersistMany(const std::vector<std::string>& keys) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : keys) {
    if (Entry* e = Find(key); e != nullptr) e->expires = absl::InfiniteFuture();
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::RenameMany(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  absl::MutexLock lock(&mu_);
  for (const auto& [from, to] : pairs) {
    Entry* e = Find(from);
    if (e == nullptr || from == to) continue;
    Entry moved = std::move(*e);
    entries_.erase(from);
    entries_[to] = std::move(moved);
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::HashSet(const std::vector<HashField>& fields) {
  absl::MutexLock lock(&mu_);
  for (const HashField& f : fields) {
    Entry* e = Find(f.key);
    if (e == nullptr) {
      e = &entries_[f.key];
      e->is_hash = true;
    } else if (!e->is_hash) {
      return absl::FailedPreconditionError(absl::StrCat("key ", f.key, " holds a string"));
    }
    e->hash[f.field] = f.value;
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::HashDelete(
    const std::vector<std::pair<std::string, std::string>>& key_fields) {
  absl::MutexLock lock(&mu_);
  for (const auto& [key, field] : key_fields) {
    Entry* e = Find(key);
    if (e == nullptr) continue;
    if (!e->is_hash)
      return absl::FailedPreconditionError(absl::StrCat("key ", key, " holds a string"));
    e->hash.erase(field);
    if (e->hash.empty()) entries_.erase(key);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Store::Fields>> MemoryStore::HashGetAllMany(
    const std::vector<std::string>& keys) {
  absl::MutexLock lock(&mu_);
  std::vector<Fields> out(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) {
    Entry* e = Find(keys[k]);
    if (e == nullptr || !e->is_hash) continue;
    for (const auto& [field, value] : e->hash) out[k].emplace_back(field, value);
    std::sort(out[k].begin(), out[k].end());
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<std::string>>> MemoryStore::HashGet(
    const std::vector<std::pair<std::string, std::string>>& key_fields) {
  absl::MutexLock lock(&mu_);
  std::vector<std::optional<std::string>> out;
  for (const auto& [key, field] : key_fields) {
    Entry* e = Find(key);
    if (e == nullptr || !e->is_hash) {
      out.emplace_back();
      continue;
    }
    auto it = e->hash.find(field);
    out.push_back(it == e->hash.end() ? std::optional<std::string>() : it->second);
  }
  return out;
}

}  // namespace tierscore::common

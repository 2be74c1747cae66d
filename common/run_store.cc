#include "common/run_store.h"

#include <xxhash.h>

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace tierscore::common {
namespace {

// fn over `items` in slices of a size one round trip carries.
template <typename T, typename Fn>
absl::Status ForEachBatch(const std::vector<T>& items, Fn fn) {
  constexpr size_t kPerTrip = 10000;
  for (size_t begin = 0; begin < items.size(); begin += kPerTrip) {
    const auto first = items.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto last =
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), begin + kPerTrip));
    TS_RETURN_IF_ERROR(fn(std::vector<T>(first, last)));
  }
  return absl::OkStatus();
}

}  // namespace

int RunStore::BucketCount(int64_t customers) {
  return static_cast<int>(std::clamp<int64_t>(customers / 64, 1, int64_t{1} << 24));
}

int RunStore::BucketOf(std::string_view customer_id, int buckets) {
  return static_cast<int>(XXH3_64bits(customer_id.data(), customer_id.size()) %
                          static_cast<uint64_t>(std::max(1, buckets)));
}

std::string RunStore::MetaKey(const std::string& run_id) {
  return absl::StrCat("run:", run_id, ":meta");
}

std::string RunStore::BucketKey(const std::string& run_id, int bucket) {
  return absl::StrCat("run:", run_id, ":b:", bucket);
}

std::string RunStore::AttemptBucketKey(const std::string& run_id, const std::string& writer,
                                       int bucket) {
  return absl::StrCat("run:", run_id, ":w:", writer, ":b:", bucket);
}

std::string RunStore::AliasKey(const std::string& alias) { return absl::StrCat("alias:", alias); }

std::string RunStore::NewWriter() {
  absl::BitGen gen;  // seeded from the OS: two attempts' writers differ
  return absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16),
                      absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
}

absl::Status RunStore::Write(const std::string& run_id, const std::string& writer, int buckets,
                             const std::vector<Entry>& entries, absl::Duration unpublished_ttl) {
  if (run_id.empty() || buckets <= 0) {
    return absl::InvalidArgumentError("a run needs an id and at least one bucket");
  }
  if (writer.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("writing run ", run_id, " needs a writer (RunStore::NewWriter)"));
  }
  // Grouped by bucket so that each hash gets few HSETs; written in batches
  // to bound the size of one pipeline.
  std::vector<int> bucket_of(entries.size());
  for (size_t i = 0; i < entries.size(); ++i)
    bucket_of[i] = BucketOf(entries[i].customer_id, buckets);
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return bucket_of[a] < bucket_of[b]; });
  constexpr size_t kBatch = 20000;
  std::vector<Store::HashField> batch;
  auto flush = [&]() -> absl::Status {
    TS_RETURN_IF_ERROR(store_->HashSet(batch));
    if (unpublished_ttl != absl::InfiniteDuration()) {
      std::vector<std::string> keys;  // each once: the batch is by bucket
      for (const Store::HashField& f : batch) {
        if (keys.empty() || keys.back() != f.key) keys.push_back(f.key);
      }
      TS_RETURN_IF_ERROR(store_->ExpireMany(keys, unpublished_ttl));
    }
    batch.clear();
    return absl::OkStatus();
  };
  for (const size_t i : order) {
    const Entry& e = entries[i];
    v1::TierRecord stored = e.record;
    stored.clear_run_id();  // the bucket key says it
    batch.push_back({AttemptBucketKey(run_id, writer, bucket_of[i]), e.customer_id,
                     stored.SerializeAsString()});
    if (batch.size() == kBatch) TS_RETURN_IF_ERROR(flush());
  }
  if (!batch.empty()) TS_RETURN_IF_ERROR(flush());
  return absl::OkStatus();
}

absl::StatusOr<RunStore::Published> RunStore::Publish(v1::RunMeta meta, const std::string& writer,
                                                      absl::Duration retention) {
  if (meta.run_id().empty() || meta.alias().empty() || meta.buckets() <= 0 || writer.empty()) {
    return absl::InvalidArgumentError(
        "a run needs an id, an alias, at least one bucket and the writer of its records");
  }
  if (meta.previous_run() == meta.run_id()) {
    return absl::InvalidArgumentError(
        absl::StrCat("run ", meta.run_id(), " cannot replace itself as ", meta.alias()));
  }
  meta.set_published_unix(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  // The attempt's buckets become the run's (a write of the attempt that
  // arrives later makes a new key of the attempt's, which nothing reads and
  // which expires); written with a time to live, the records now stay.
  std::vector<std::string> keys = RunKeys(meta);
  std::vector<std::pair<std::string, std::string>> renames;
  renames.reserve(keys.size());
  for (int b = 0; b < meta.buckets(); ++b) {
    renames.emplace_back(AttemptBucketKey(meta.run_id(), writer, b), keys[static_cast<size_t>(b)]);
  }
  TS_RETURN_IF_ERROR(
      ForEachBatch(renames, [&](const auto& batch) { return store_->RenameMany(batch); }));
  keys.push_back(MetaKey(meta.run_id()));
  auto expire_run = [&] {
    return ForEachBatch(keys, [&](const std::vector<std::string>& batch) {
      return store_->ExpireMany(batch, retention);
    });
  };
  absl::Status kept = ForEachBatch(
      keys, [&](const std::vector<std::string>& batch) { return store_->PersistMany(batch); });
  if (kept.ok()) kept = store_->Set(MetaKey(meta.run_id()), meta.SerializeAsString());
  if (!kept.ok()) {
    expire_run().IgnoreError();  // best effort: the error reported is the first
    return kept;
  }
  std::optional<std::string> expected;
  if (!meta.previous_run().empty()) expected = meta.previous_run();
  absl::StatusOr<bool> switched =
      store_->CompareAndSet(AliasKey(meta.alias()), expected, meta.run_id());
  if (!switched.ok()) {
    // The reply was lost, not necessarily the switch: look. Records stay
    // permanent unless the alias is known to point elsewhere.
    absl::StatusOr<std::string> now = CurrentRunId(meta.alias());
    if (now.ok() && *now == meta.run_id()) {
      switched = true;
    } else {
      if (now.ok() || absl::IsNotFound(now.status())) expire_run().IgnoreError();
      return switched.status();
    }
  }
  if (!*switched) {
    // Lost the race: this run expires as a replaced one would (a retry
    // writes and persists it again).
    absl::Status expired = expire_run();
    auto now = CurrentRunId(meta.alias());
    return absl::AbortedError(absl::StrCat(
        meta.alias(), " moved to run ", now.ok() ? *now : "(unknown)", " after this run was ",
        expected.has_value() ? absl::StrCat("assigned against run ", *expected)
                             : "assigned (it had no run then)",
        expired.ok()
            ? ""
            : absl::StrCat("; this run's records were not set to expire: ", expired.message())));
  }

  Published out;
  out.meta = meta;
  if (expected.has_value()) {
    out.replaced = *expected;
    out.previous_expiry = [&]() -> absl::Status {
      TS_ASSIGN_OR_RETURN(v1::RunMeta old, Run(*expected));
      std::vector<std::string> old_keys = RunKeys(old);
      old_keys.push_back(MetaKey(old.run_id()));
      return ForEachBatch(old_keys, [&](const std::vector<std::string>& batch) {
        return store_->ExpireMany(batch, retention);
      });
    }();
  }
  return out;
}

absl::Status RunStore::Discard(const std::string& run_id, const std::string& writer, int buckets) {
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(std::max(0, buckets)));
  for (int b = 0; b < buckets; ++b) keys.push_back(AttemptBucketKey(run_id, writer, b));
  return ForEachBatch(keys,
                      [&](const std::vector<std::string>& batch) { return store_->Delete(batch); });
}

std::vector<std::string> RunStore::RunKeys(const v1::RunMeta& run) {
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(run.buckets()));
  for (int b = 0; b < run.buckets(); ++b) keys.push_back(BucketKey(run.run_id(), b));
  return keys;
}

absl::StatusOr<v1::RunMeta> RunStore::Run(const std::string& run_id) {
  TS_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(MetaKey(run_id)));
  if (!bytes.has_value()) return absl::NotFoundError(absl::StrCat("no run ", run_id));
  v1::RunMeta meta;
  if (!meta.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("the metadata of run ", run_id, " does not parse"));
  }
  return meta;
}

absl::StatusOr<std::string> RunStore::CurrentRunId(const std::string& alias) {
  TS_ASSIGN_OR_RETURN(std::optional<std::string> run_id, store_->Get(AliasKey(alias)));
  if (!run_id.has_value()) return absl::NotFoundError(absl::StrCat("no run published as ", alias));
  return *run_id;
}

absl::StatusOr<v1::RunMeta> RunStore::Current(const std::string& alias) {
  TS_ASSIGN_OR_RETURN(std::string run_id, CurrentRunId(alias));
  return Run(run_id);
}

absl::Status RunStore::ForEachRecord(
    const v1::RunMeta& run,
    const std::function<absl::Status(const std::string&, const v1::TierRecord&)>& fn) {
  constexpr int kBucketsPerTrip = 256;
  for (int begin = 0; begin < run.buckets(); begin += kBucketsPerTrip) {
    std::vector<std::string> keys;
    for (int b = begin; b < std::min(run.buckets(), begin + kBucketsPerTrip); ++b) {
      keys.push_back(BucketKey(run.run_id(), b));
    }
    TS_ASSIGN_OR_RETURN(std::vector<Store::Fields> buckets, store_->HashGetAllMany(keys));
    for (const Store::Fields& bucket : buckets) {
      for (const auto& [id, bytes] : bucket) {
        TS_ASSIGN_OR_RETURN(std::optional<v1::TierRecord> record, ParseRecord(run, id, bytes));
        TS_RETURN_IF_ERROR(fn(id, *record));
      }
    }
  }
  return absl::OkStatus();
}

std::pair<std::string, std::string> RunStore::RecordKey(const v1::RunMeta& run,
                                                        const std::string& customer_id) {
  return {BucketKey(run.run_id(), BucketOf(customer_id, run.buckets())), customer_id};
}

absl::StatusOr<std::optional<v1::TierRecord>> RunStore::ParseRecord(
    const v1::RunMeta& run, const std::string& customer_id,
    const std::optional<std::string>& bytes) {
  if (!bytes.has_value()) return std::nullopt;
  v1::TierRecord record;
  if (!record.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat("the record of ", customer_id, " in run ", run.run_id(), " does not parse"));
  }
  record.set_run_id(run.run_id());
  return record;
}

absl::StatusOr<std::vector<std::optional<v1::TierRecord>>> RunStore::Lookup(
    const v1::RunMeta& run, const std::vector<std::string>& ids) {
  std::vector<std::pair<std::string, std::string>> key_fields;
  key_fields.reserve(ids.size());
  for (const std::string& id : ids) key_fields.push_back(RecordKey(run, id));
  TS_ASSIGN_OR_RETURN(auto values, store_->HashGet(key_fields));
  std::vector<std::optional<v1::TierRecord>> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    TS_ASSIGN_OR_RETURN(out[i], ParseRecord(run, ids[i], values[i]));
  }
  return out;
}

}  // namespace tierscore::common

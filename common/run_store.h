#ifndef TIERSCORE_COMMON_RUN_STORE_H_
#define TIERSCORE_COMMON_RUN_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store.h"
#include "tierscore/v1/record.pb.h"

namespace tierscore::common {

// Published runs in a Store (DESIGN.md §4, step 5). A run's records are
// spread over bucket hashes (`run:ID:b:N`, customer id -> TierRecord) and
// are invisible until Publish switches the run's alias (`alias:NAME`, one
// atomic SET) to it; the alias's previous run then expires after a
// retention. A lookup resolves the alias once and reads that run only, so
// it never sees a mix of two runs, also while a new one is being written.
//
// Thread-safe (as the Store). `store` is borrowed and must outlive this.
class RunStore {
 public:
  explicit RunStore(Store* store) : store_(store) {}

  // About 64 records per bucket: small hashes stay compact in Redis.
  static int BucketCount(int64_t customers);
  // The bucket of a customer id (xxHash3 of the id).
  static int BucketOf(std::string_view customer_id, int buckets);

  struct Entry {
    std::string customer_id;
    v1::TierRecord record;
  };
  // A new writer: one per publication attempt, which its Write calls carry
  // and Publish or Discard names. Each attempt writes keys of its own
  // (`run:ID:w:WRITER:b:N`); Publish renames the published attempt's to the
  // run's. So a write that arrives late (a worker given up on that answers
  // after all) lands in keys nothing reads, which expire, and can neither
  // change a published run nor give it a time to live.
  static std::string NewWriter();

  // Writes records of run `run_id` (their run_id field is not stored: the
  // key says it) for attempt `writer`. Not visible to lookups until
  // Publish. Safe to repeat (records are overwritten). The records expire
  // after `unpublished_ttl` unless Publish makes them stay, so that a run
  // whose coordinator dies before publishing leaves nothing behind.
  absl::Status Write(const std::string& run_id, const std::string& writer, int buckets,
                     const std::vector<Entry>& entries,
                     absl::Duration unpublished_ttl = absl::InfiniteDuration());

  // Deletes what attempt `writer` wrote, for an attempt that will not be
  // published (it failed or was cancelled). A write of it still on its way
  // lands later and expires by itself.
  absl::Status Discard(const std::string& run_id, const std::string& writer, int buckets);

  struct Published {
    v1::RunMeta meta;              // as stored
    std::string replaced;          // the alias's run before the switch
    absl::Status previous_expiry;  // setting the replaced run to expire
  };
  // Makes `meta.run_id`, as written by `writer`, the current run of
  // `meta.alias`, its records permanent until replaced, if the alias's
  // current run is still `meta.previous_run` (the run this one was
  // assigned against; empty: the alias has none). The switch is one compare-and-set, so two
  // publishers of one alias never both replace the same run: the loser gets ABORTED, the alias is
  // unchanged and the loser's run expires after `retention`. A replaced run's keys get `retention`
  // to live (a failure to set that is reported in the result, not as an error: the run is published
  // either way).
  absl::StatusOr<Published> Publish(v1::RunMeta meta, const std::string& writer,
                                    absl::Duration retention);

  // NOT_FOUND for an alias never published or a run without metadata.
  absl::StatusOr<v1::RunMeta> Current(const std::string& alias);
  absl::StatusOr<std::string> CurrentRunId(const std::string& alias);
  absl::StatusOr<v1::RunMeta> Run(const std::string& run_id);

  // The records of `ids` in `run`, in order; nullopt for ids it does not
  // hold. One round trip. DATA_LOSS for a record that does not parse.
  absl::StatusOr<std::vector<std::optional<v1::TierRecord>>> Lookup(
      const v1::RunMeta& run, const std::vector<std::string>& ids);

  // Calls fn(customer_id, record) for every record of `run`, bucket by
  // bucket (in no particular order of customers), a few hundred buckets
  // per round trip. DATA_LOSS for a record that does not parse; stops at
  // the first error of fn and returns it.
  absl::Status ForEachRecord(
      const v1::RunMeta& run,
      const std::function<absl::Status(const std::string&, const v1::TierRecord&)>& fn);

  // The pieces of Lookup, for callers that read several runs in one round
  // trip: where a customer's record is (hash key and field), and the
  // record from what was read there.
  static std::pair<std::string, std::string> RecordKey(const v1::RunMeta& run,
                                                       const std::string& customer_id);
  static absl::StatusOr<std::optional<v1::TierRecord>> ParseRecord(
      const v1::RunMeta& run, const std::string& customer_id,
      const std::optional<std::string>& bytes);

 private:
  static std::string MetaKey(const std::string& run_id);
  static std::string BucketKey(const std::string& run_id, int bucket);
  // A bucket as written by one attempt, before Publish.
  static std::string AttemptBucketKey(const std::string& run_id, const std::string& writer,
                                      int bucket);
  static std::string AliasKey(const std::string& alias);
  // The bucket keys of a run.
  static std::vector<std::string> RunKeys(const v1::RunMeta& run);

  Store* store_;
};

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_RUN_STORE_H_

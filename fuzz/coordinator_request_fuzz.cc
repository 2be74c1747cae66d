// libFuzzer: the public API's requests, once authorized, against the cores
// its gRPC adapters call (coordinator/coordinator_service.cc): SubmitJob
// (JobManager::Submit), GetJob, CancelJob, GetKpis, ListJobs, LookupTier
// and BatchLookupTier (TierLookup over a store holding one published run),
// UploadDataset (one message, then Finish), GetDataset, DeleteDataset, a
// tokens file (Tokens::Parse) and an authorization header
// (Tokens::Authenticate). The first byte picks the call, the rest is the
// request in protobuf wire format (for the last two: the text itself). Inputs
// are confined to a directory holding one small CSV file. There are no
// workers, so a submitted job fails UNAVAILABLE at once: what is fuzzed is
// everything a caller reaches before a job runs.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/data_roots.h"
#include "common/memory_store.h"
#include "common/run_store.h"
#include "coordinator/access.h"
#include "coordinator/dataset_store.h"
#include "coordinator/job_manager.h"
#include "coordinator/tier_lookup.h"
#include "tierscore/v1/coordinator.pb.h"

namespace {

namespace v1 = tierscore::v1;
using tierscore::common::MemoryStore;
using tierscore::common::RunStore;
using tierscore::coordinator::DatasetStore;
using tierscore::coordinator::JobManager;
using tierscore::coordinator::TierLookup;

struct World {
  std::string root;
  MemoryStore store;
  std::unique_ptr<DatasetStore> datasets;
  std::unique_ptr<TierLookup> lookup;
  std::unique_ptr<JobManager> jobs;
};

// A run of 100 customers published as "customers/default".
void PublishRun(MemoryStore& store) {
  RunStore runs(&store);
  std::vector<RunStore::Entry> entries;
  for (int i = 0; i < 100; ++i) {
    RunStore::Entry e;
    e.customer_id = "C" + std::to_string(i);
    e.record.set_score(i);
    e.record.add_tiers(i % 3);
    entries.push_back(std::move(e));
  }
  const std::string writer = RunStore::NewWriter();
  (void)runs.Write("r1", writer, RunStore::BucketCount(100), entries);
  v1::RunMeta meta;
  meta.set_run_id("r1");
  meta.set_alias("customers/default");
  meta.set_buckets(RunStore::BucketCount(100));
  meta.set_customers(100);
  v1::RunMeta::Scheme* scheme = meta.add_schemes();
  scheme->set_name("abc");
  for (const char* t : {"A", "B", "C"}) scheme->add_tiers(t);
  (void)runs.Publish(meta, writer, absl::Minutes(1));
}

World* Make() {
  auto* w = new World();
  static char dir[] = "/tmp/tierscore-fuzz-XXXXXX";
  w->root = mkdtemp(dir);
  std::ofstream(w->root + "/c.csv") << "customer_id,revenue_12m,region\nC1,10,EU\nC2,0,US\n";
  w->datasets = *DatasetStore::Create(w->root + "/datasets");
  PublishRun(w->store);
  w->lookup = std::make_unique<TierLookup>(&w->store,
                                           tierscore::coordinator::TierLookupOptions{.lanes = 0});
  tierscore::coordinator::JobManagerOptions o;
  o.max_running = 1;
  o.max_queued = 64;
  o.keep_finished = 64;
  o.wait_for_workers = absl::ZeroDuration();
  o.datasets = w->datasets.get();
  o.data_roots = *tierscore::common::DataRoots::Create({w->root});
  o.runner.store = &w->store;
  w->jobs = *JobManager::Create(
      [](absl::Time) {
        return std::vector<std::shared_ptr<tierscore::coordinator::WorkerClient>>();
      },
      o);
  return w;
}

template <typename Request, typename Fn>
void Call(std::string_view bytes, Fn fn) {
  Request request;
  if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) fn(request);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* w = Make();
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const auto* tokens =
      tierscore::coordinator::Tokens::Parse(
          "0123456789abcdef0123 admin ops\nfedcba9876543210fedc submitter nightly team/*\n",
          "tokens")
          ->release();
  switch (data[0] % 12) {
    case 0:
      Call<v1::SubmitJobRequest>(body, [&](auto& r) { (void)w->jobs->Submit(r.spec(), "fuzz"); });
      break;
    case 1:
      Call<v1::GetJobRequest>(body, [&](auto& r) { (void)w->jobs->Get(r.id()); });
      break;
    case 2:
      Call<v1::CancelJobRequest>(body, [&](auto& r) { (void)w->jobs->Cancel(r.id()); });
      break;
    case 3:
      Call<v1::GetKpisRequest>(body, [&](auto& r) { (void)w->jobs->Kpis(r.id()); });
      break;
    case 4:
      Call<v1::ListJobsRequest>(body, [&](auto& r) { (void)w->jobs->List(r); });
      break;
    case 5:
      Call<v1::LookupTierRequest>(body, [&](auto& r) {
        v1::LookupTierResponse response;
        (void)w->lookup->One(r, &response);
      });
      break;
    case 6:
      Call<v1::BatchLookupTierRequest>(body, [&](auto& r) { (void)w->lookup->Batch(r); });
      break;
    case 7:
      Call<v1::UploadDatasetRequest>(body, [&](auto& r) {
        auto upload = w->datasets->Begin(r.name(), r.gzip(), r.offset());
        if (!upload.ok()) return;
        if ((*upload)->Append(r.data(), r.crc32()).ok() && r.last()) (void)(*upload)->Finish();
      });
      break;
    case 8:
      Call<v1::GetDatasetRequest>(body, [&](auto& r) { (void)w->datasets->Get(r.name()); });
      break;
    case 9:
      Call<v1::DeleteDatasetRequest>(body, [&](auto& r) { (void)w->datasets->Delete(r.name()); });
      break;
    case 10:
      (void)tierscore::coordinator::Tokens::Parse(body, "fuzz");
      break;
    case 11:
      (void)tokens->Authenticate(body);
      break;
  }
  return 0;
}

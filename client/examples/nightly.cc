// A nightly reclassification with the tierscore SDK, as another C++ service
// would run it: upload the customer base, submit a job whose policy is sent
// as text, follow it, and read a few results.
//
//   nightly COORDINATOR CSV POLICY.yaml
#include <cstdio>
#include <string>

#include "tierscore/client.h"

namespace ts = tierscore;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s COORDINATOR CSV POLICY.yaml\n", argv[0]);
    return 2;
  }
  auto client = ts::client::Client::Create({.target = argv[1]});
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  const std::string dataset = "nightly-example";
  auto uploaded = (*client)->UploadDataset(dataset, argv[2]);
  if (!uploaded.ok()) {
    std::fprintf(stderr, "upload: %s\n", uploaded.status().ToString().c_str());
    return 1;
  }
  std::printf("uploaded %s: %lld bytes, %d columns\n", dataset.c_str(),
              static_cast<long long>(uploaded->bytes()), uploaded->columns_size());

  ts::v1::JobSpec spec;
  auto policy = ts::client::ReadConfigFile(argv[3]);
  if (!policy.ok()) {
    std::fprintf(stderr, "%s\n", policy.status().ToString().c_str());
    return 1;
  }
  *spec.mutable_policy_text() = *policy;
  spec.add_datasets(dataset);
  spec.set_no_publish(true);
  auto job = (*client)->Submit(spec);
  if (!job.ok()) {
    std::fprintf(stderr, "submit: %s\n", job.status().ToString().c_str());
    return 1;
  }
  auto done = job->Wait([](const ts::v1::Job& j) {
    std::printf("  %s %d/%d\n", j.progress().phase().c_str(), j.progress().splits_done(),
                j.progress().splits_total());
  });
  if (!done.ok() || done->state() != ts::v1::JOB_STATE_SUCCEEDED) {
    std::fprintf(stderr, "job: %s\n",
                 done.ok() ? done->error().c_str() : done.status().ToString().c_str());
    return 1;
  }
  std::printf("job %s succeeded: %lld customers\n", job->id().c_str(),
              static_cast<long long>(done->result().customers()));
  int shown = 0;
  ts::client::ResultColumns columns;
  auto rows = job->Rows(
      false,
      [&](const ts::v1::ResultRow& row) {
        if (shown++ == 3) return absl::CancelledError("seen enough");
        std::printf("  %s score %.4f", row.customer_id().c_str(), row.score());
        for (size_t s = 0; s < columns.schemes.size(); ++s) {
          std::printf(" %s=%s", columns.schemes[s].c_str(), row.tiers(static_cast<int>(s)).c_str());
        }
        std::printf("\n");
        return absl::OkStatus();
      },
      &columns);
  if (!rows.ok() && !absl::IsCancelled(rows)) {
    std::fprintf(stderr, "rows: %s\n", rows.ToString().c_str());
    return 1;
  }
  return (*client)->DeleteDataset(dataset).ok() ? 0 : 1;
}

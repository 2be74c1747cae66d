// A nightly reclassification with the tierscore SDK, as another C++ service
// would run it: upload the customer base, submit a job whose policy is sent
// as text, follow it, and read a few results.
//
//   nightly COORDINATOR CSV POLICY.yaml
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_format.h"
#include "tierscore/client.h"

namespace ts = tierscore;

namespace {

// Submits the job, follows it, and shows a few results.
int Run(const ts::client::Client& client, const ts::v1::JobSpec& spec) {
  auto job = client.Submit(spec);
  if (!job.ok()) {
    std::fprintf(stderr, "submit: %s\n", job.status().ToString().c_str());
    return 1;
  }
  std::string last;
  auto done = job->Wait([&last](const ts::v1::Job& j) {
    const std::string line =
        absl::StrFormat("  %s %d/%d", j.progress().phase(), j.progress().splits_done(),
                        j.progress().splits_total());
    if (line != last && !j.progress().phase().empty()) std::printf("%s\n", line.c_str());
    last = line;
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
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s COORDINATOR CSV POLICY.yaml\n", argv[0]);
    return 2;
  }
  // TLS unless TIERSCORE_INSECURE is set; the token from TIERSCORE_TOKEN.
  ts::client::ClientOptions options;
  options.target = argv[1];
  const char* ca = std::getenv("TIERSCORE_TLS_CA");
  options.tls_ca = ca != nullptr ? ca : "";
  options.insecure = std::getenv("TIERSCORE_INSECURE") != nullptr;
  const char* token = std::getenv("TIERSCORE_TOKEN");
  options.token = token != nullptr ? token : "";
  auto client = ts::client::Client::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  auto policy = ts::client::ReadConfigFile(argv[3]);
  if (!policy.ok()) {
    std::fprintf(stderr, "%s\n", policy.status().ToString().c_str());
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
  *spec.mutable_policy_text() = *policy;
  spec.add_datasets(dataset);
  spec.set_no_publish(true);
  const int code = Run(**client, spec);
  // The dataset goes whatever happened, so that the example can run again.
  absl::Status deleted = (*client)->DeleteDataset(dataset);
  if (!deleted.ok()) std::fprintf(stderr, "delete: %s\n", deleted.ToString().c_str());
  return code != 0 ? code : (deleted.ok() ? 0 : 1);
}

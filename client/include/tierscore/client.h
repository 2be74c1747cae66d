#ifndef TIERSCORE_CLIENT_H_
#define TIERSCORE_CLIENT_H_

// The tierscore C++ SDK: submit and follow classification jobs, read their
// results, look customers' tiers up, and upload datasets, over the
// Coordinator gRPC API (tierscore/v1/coordinator.proto). It depends on the
// generated protos, gRPC, protobuf and abseil only.
//
//   auto client = tierscore::client::Client::Create({.target = "coord:7000"});
//   tierscore::v1::JobSpec spec;
//   *spec.mutable_policy_text() = *tierscore::client::ReadConfigFile("policy.yaml");
//   spec.add_datasets("customers-2026-11");
//   spec.set_alias("customers/nightly");
//   auto job = (*client)->Submit(spec);
//   auto done = job->Wait([](const tierscore::v1::Job& j) { /* progress */ });
//
// Errors are absl::Status with the server's code and message. Every call
// has a deadline. Calls that are safe to repeat (reads, Cancel) are retried
// on UNAVAILABLE with exponential backoff; Submit, Publish and uploads'
// streams are not (an upload resumes where the server's copy stands).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "tierscore/v1/coordinator.grpc.pb.h"

namespace tierscore::client {

struct ClientOptions {
  std::string target{};  // "host:port", "dns:///name:port", "unix:///path"
  // TLS: the CA bundle the coordinator's certificate must chain to, and a
  // client certificate and key for a coordinator that asks for one (PEM
  // files, re-read when they change). `tls_server_name`: the name to check
  // when it is not the target's host.
  std::string tls_ca{};
  std::string tls_cert{};
  std::string tls_key{};
  std::string tls_server_name{};
  // Plaintext, which must be asked for: without tls_ca, credentials or
  // insecure, Create() is INVALID_ARGUMENT.
  bool insecure = false;
  // Credentials of the caller's own making (instead of the TLS files).
  std::shared_ptr<grpc::ChannelCredentials> credentials{};
  // A bearer token sent with every call ("authorization: Bearer ..."), as
  // the coordinator's --tokens file lists it. Empty: none.
  std::string token{};
  absl::Duration deadline = absl::Seconds(30);  // per unary call (each attempt)
  // Retries of calls that are safe to repeat, on UNAVAILABLE.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Pings an idle connection this often, so that a dead peer is noticed.
  absl::Duration keepalive = absl::Seconds(30);
};

// A policy or KPI spec file as ConfigText (the server reads it; its errors
// name the file). NOT_FOUND if it cannot be read.
absl::StatusOr<v1::ConfigText> ReadConfigFile(const std::string& path);

// The columns of typed result rows, known before the first row.
struct ResultColumns {
  std::vector<std::string> schemes;   // ResultRow.tiers, in this order
  std::vector<std::string> criteria;  // ResultRow.contributions (with explain)
};

// A customer's entry in a published run, with tier names resolved.
struct SchemeTier {
  std::string scheme;
  std::string tier;         // empty if the record has none
  std::string earned_tier;  // the tier the score earns (differs where protection held it)
  // The run was assigned against a previous run of its alias, in which the
  // customer had `previous_tier` (empty: it was new).
  bool compared = false;
  std::string previous_tier;
  int runs_below = 0;  // consecutive runs whose score earned less
  double gap_to_next_tier = 0;
};
struct CustomerTiers {
  std::string customer_id;
  bool found = false;  // the rest is set only when found
  std::string run_id;
  double score = 0;
  double value = 0;
  double percentile = 0;        // share of customers before it (0 = top)
  double cum_before_share = 0;  // share of value before it
  std::vector<SchemeTier> tiers;
  std::vector<std::pair<std::string, double>> contributions;  // per criterion
};

// Which published run lookups read: an alias's current run, or a run by id.
struct RunRef {
  static RunRef Alias(std::string alias) { return {std::move(alias), ""}; }
  static RunRef Run(std::string run_id) { return {"", std::move(run_id)}; }
  std::string alias;
  std::string run_id;
};

struct UploadOptions {
  bool gzip = false;  // the file is gzip-compressed CSV (default: by a .gz suffix)
  size_t chunk_bytes = size_t{1} << 20;
  // Attempts in all when the connection fails: each resumes at the offset
  // the server reports (GetDataset).
  int max_attempts = 5;
  std::function<void(int64_t sent, int64_t total)> on_progress{};
};

class Client;

// A submitted job, by id. Borrows its Client, which must outlive it.
// Thread-safe; cheap to copy.
class Job {
 public:
  const std::string& id() const { return id_; }

  absl::StatusOr<v1::Job> Get() const;
  // Follows the job to a final state and returns it; `on_update` gets each
  // state the server sends (every state and phase change, progress a few
  // times a second). A broken stream is followed again until `timeout`.
  absl::StatusOr<v1::Job> Wait(const std::function<void(const v1::Job&)>& on_update = nullptr,
                               absl::Duration timeout = absl::InfiniteDuration()) const;
  absl::StatusOr<v1::Job> Cancel() const;
  absl::StatusOr<v1::KpiTable> Kpis() const;
  // Publishes again a job whose publication failed (PublishJob).
  absl::StatusOr<v1::Job> Publish(absl::Duration timeout = absl::Hours(1)) const;
  // Per-customer results as typed rows; `columns` (optional) is filled
  // before the first row. An error of `fn` stops the stream and is returned.
  absl::Status Rows(bool explain, const std::function<absl::Status(const v1::ResultRow&)>& fn,
                    ResultColumns* columns = nullptr,
                    absl::Duration timeout = absl::Hours(24)) const;
  // The same as CSV, header first, in chunks that end on a row.
  absl::Status Csv(bool explain, const std::function<absl::Status(std::string_view)>& fn,
                   absl::Duration timeout = absl::Hours(24)) const;

 private:
  friend class Client;
  Job(const Client* client, std::string id) : client_(client), id_(std::move(id)) {}

  const Client* client_;
  std::string id_;
};

// A connection to a coordinator. Thread-safe.
class Client {
 public:
  // INVALID_ARGUMENT without a target. Connects lazily.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const ClientOptions& options);

  // Queues a job (SubmitJob); INVALID_ARGUMENT naming what is wrong.
  absl::StatusOr<Job> Submit(const v1::JobSpec& spec) const;
  // A job submitted earlier (by this client or another).
  Job Attach(std::string id) const { return Job(this, std::move(id)); }
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request = {}) const;

  absl::StatusOr<CustomerTiers> Lookup(const RunRef& run, const std::string& customer_id) const;
  // Up to 1000 ids, in order.
  absl::StatusOr<std::vector<CustomerTiers>> BatchLookup(const RunRef& run,
                                                         const std::vector<std::string>& ids) const;

  // Uploads a CSV file as dataset `name`, resuming an unfinished upload of
  // it (and after dropped connections) where the server's copy stands.
  absl::StatusOr<v1::Dataset> UploadDataset(const std::string& name, const std::string& path,
                                            const UploadOptions& options = {}) const;
  absl::StatusOr<v1::Dataset> GetDataset(const std::string& name) const;
  absl::StatusOr<v1::ListDatasetsResponse> ListDatasets() const;
  absl::Status DeleteDataset(const std::string& name) const;

  // The generated stub, for what this class does not wrap.
  v1::Coordinator::Stub& stub() const { return *stub_; }

 private:
  friend class Job;
  explicit Client(const ClientOptions& options, std::unique_ptr<v1::Coordinator::Stub> stub)
      : options_(options), stub_(std::move(stub)) {}

  // One unary call: a deadline per attempt, retried when `retry`.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (v1::Coordinator::Stub::*method)(grpc::ClientContext*,
                                                                              const Request&,
                                                                              Response*),
                                const Request& request, bool retry,
                                absl::Duration deadline = absl::ZeroDuration()) const;
  absl::Status StreamResults(const std::string& id, bool explain, bool rows,
                             const std::function<absl::Status(v1::ResultsChunk&)>& fn,
                             absl::Duration timeout) const;
  absl::StatusOr<v1::Dataset> UploadFrom(const std::string& name, const std::string& path,
                                         bool gzip, int64_t offset, int64_t total,
                                         const UploadOptions& options) const;

  const ClientOptions options_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

}  // namespace tierscore::client

#endif  // TIERSCORE_CLIENT_H_

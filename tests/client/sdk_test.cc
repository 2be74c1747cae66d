// The SDK against a real coordinator and workers on 127.0.0.1:0: datasets
// uploaded (also across a dropped connection) score the same as the file
// read from disk; policies sent as text; typed rows.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator_server.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/testing/tcp_proxy.h"
#include "tests/testing/temp_dir.h"
#include "tierscore/client.h"
#include "worker/worker_server.h"

namespace tierscore::client {
namespace {

using ::testing::HasSubstr;

std::string Example(const std::string& rel) {
  return std::string(TIERSCORE_SOURCE_DIR) + "/examples/" + rel;
}

class SdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    coordinator::CoordinatorServerOptions options;
    for (int i = 0; i < 2; ++i) {
      auto w = worker::WorkerServer::Create({.listen = "127.0.0.1:0", .threads = 1});
      ASSERT_TRUE(w.ok()) << w.status();
      options.pool.targets.push_back((*w)->address());
      workers_.push_back(*std::move(w));
    }
    options.data_dir = dir_.path() + "/data";
    auto c = coordinator::CoordinatorServer::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = *std::move(c);
    auto client = Client::Create({.target = coordinator_->address(), .insecure = true});
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
    engine::GeneratorOptions gen;
    gen.rows = 30000;
    gen.seed = 9;
    gen.distinct_values = 40;  // ties
    input_ = dir_.Write("customers.csv", engine::GenerateCustomersCsv(gen));
  }

  v1::JobSpec Spec() {
    v1::JobSpec spec;
    *spec.mutable_policy_text() = *ReadConfigFile(Example("policies/value_ladder.yaml"));
    *spec.mutable_kpis_text() = *ReadConfigFile(Example("kpis/by_tier_segment.yaml"));
    spec.set_no_publish(true);
    spec.set_no_cache(true);
    return spec;
  }

  // Runs the job and returns its rows as CSV text, header first.
  absl::StatusOr<std::pair<v1::Job, std::string>> RunToCsv(const v1::JobSpec& spec) {
    auto job = client_->Submit(spec);
    if (!job.ok()) return job.status();
    auto done = job->Wait(nullptr, absl::Minutes(2));
    if (!done.ok()) return done.status();
    std::string csv;
    absl::Status st = job->Csv(false, [&](std::string_view c) {
      csv.append(c.data(), c.size());
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    return std::make_pair(*done, csv);
  }

  testing::TempDir dir_;
  std::vector<std::unique_ptr<worker::WorkerServer>> workers_;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator_;
  std::unique_ptr<Client> client_;
  std::string input_;
};

TEST_F(SdkTest, AnUploadedDatasetScoresTheSameAsTheFileOnDisk) {
  std::vector<int64_t> progress;
  UploadOptions upload;
  upload.chunk_bytes = 256 << 10;
  upload.on_progress = [&](int64_t sent, int64_t) { progress.push_back(sent); };
  auto dataset = client_->UploadDataset("customers-2026-11", input_, upload);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_TRUE(dataset->complete());
  EXPECT_EQ(dataset->bytes(), static_cast<int64_t>(testing::TempDir::Read(input_).size()));
  EXPECT_THAT(dataset->columns(), ::testing::Contains("revenue_12m"));
  EXPECT_GT(progress.size(), 3u);
  EXPECT_EQ(testing::TempDir::Read(dataset->path()), testing::TempDir::Read(input_));

  v1::JobSpec from_file = Spec();
  from_file.add_inputs(input_);
  v1::JobSpec from_dataset = Spec();
  from_dataset.add_datasets("customers-2026-11");
  auto a = RunToCsv(from_file);
  auto b = RunToCsv(from_dataset);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->second, b->second);
  EXPECT_EQ(a->first.result().kpis().SerializeAsString(),
            b->first.result().kpis().SerializeAsString());
  // The job's spec names the file the dataset resolved to.
  auto ran = client_->Attach(b->first.id()).Get();
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(ran->spec().datasets_size(), 0);
  ASSERT_EQ(ran->spec().inputs_size(), 1);
  EXPECT_EQ(ran->spec().inputs(0), dataset->path());

  // A gzip dataset too.
  const std::string gz = dir_.Write("customers.csv.gz", testing::TempDir::Read(input_));
  auto zipped = client_->UploadDataset("zipped", gz);
  ASSERT_TRUE(zipped.ok()) << zipped.status();
  EXPECT_TRUE(zipped->gzip());
  v1::JobSpec from_gzip = Spec();
  from_gzip.add_datasets("zipped");
  auto c = RunToCsv(from_gzip);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(a->second, c->second);

  auto listed = client_->ListDatasets();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->datasets_size(), 2);
  EXPECT_EQ(listed->datasets(0).name(), "customers-2026-11");
  EXPECT_EQ(listed->datasets(1).name(), "zipped");

  // Deleted, it is gone for later jobs.
  ASSERT_TRUE(client_->DeleteDataset("zipped").ok());
  EXPECT_EQ(client_->GetDataset("zipped").status().code(), absl::StatusCode::kNotFound);
  auto gone = client_->Submit(from_gzip);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(gone.status().message(), HasSubstr("datasets[0]: no dataset zipped"));
  EXPECT_EQ(client_->DeleteDataset("zipped").code(), absl::StatusCode::kNotFound);
}

TEST_F(SdkTest, AnUploadResumesAfterTheConnectionDrops) {
  // The connection drops mid-upload, once the server holds part of it.
  auto cut_midway = [&](testing::TcpProxy& proxy, const std::string& name) {
    return [&proxy, this, name, done = false](int64_t sent, int64_t) mutable {
      if (done || sent < (1 << 20)) return;
      done = true;
      for (int i = 0; i < 400; ++i) {
        auto d = client_->GetDataset(name);
        if (d.ok() && d->bytes() >= (256 << 10)) break;
        absl::SleepFor(absl::Milliseconds(10));
      }
      proxy.Cut();
    };
  };
  UploadOptions upload;
  upload.chunk_bytes = 64 << 10;
  {
    // Within one call: the SDK asks where the server's copy stands and
    // goes on from there.
    testing::TcpProxy proxy(coordinator_->port(), /*cut_after=*/-1);
    auto through =
        Client::Create({.target = absl::StrCat("127.0.0.1:", proxy.port()), .insecure = true});
    ASSERT_TRUE(through.ok());
    UploadOptions o = upload;
    o.on_progress = cut_midway(proxy, "resumed");
    auto dataset = (*through)->UploadDataset("resumed", input_, o);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    EXPECT_EQ(proxy.cuts(), 1);
    EXPECT_EQ(testing::TempDir::Read(dataset->path()), testing::TempDir::Read(input_));
  }
  // Across calls: an upload that failed resumes at the offset the server
  // kept, sending only the rest.
  testing::TcpProxy proxy(coordinator_->port(), /*cut_after=*/-1);
  auto through =
      Client::Create({.target = absl::StrCat("127.0.0.1:", proxy.port()), .insecure = true});
  ASSERT_TRUE(through.ok());
  UploadOptions once = upload;
  once.max_attempts = 1;
  once.on_progress = cut_midway(proxy, "later");
  auto failed = (*through)->UploadDataset("later", input_, once);
  ASSERT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  // The server takes in what reached it before the drop, then lets go.
  absl::StatusOr<v1::Dataset> kept;
  for (int i = 0; i < 400; ++i) {
    kept = client_->GetDataset("later");
    if (kept.ok() && !kept->uploading()) break;
    absl::SleepFor(absl::Milliseconds(25));
  }
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_FALSE(kept->complete());
  EXPECT_FALSE(kept->uploading());
  EXPECT_GE(kept->bytes(), 256 << 10);
  const int64_t total = static_cast<int64_t>(testing::TempDir::Read(input_).size());
  std::vector<int64_t> progress;
  upload.on_progress = [&](int64_t sent, int64_t) { progress.push_back(sent); };
  auto dataset = client_->UploadDataset("later", input_, upload);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front(), std::min<int64_t>(kept->bytes() + (64 << 10), total));
  EXPECT_EQ(testing::TempDir::Read(dataset->path()), testing::TempDir::Read(input_));
}

TEST_F(SdkTest, BadUploadsAnswerTheRightCode) {
  auto stub = [&] { return &client_->stub(); };
  auto upload = [&](const std::vector<v1::UploadDatasetRequest>& messages) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::Dataset d;
    auto writer = stub()->UploadDataset(&ctx, &d);
    for (const auto& m : messages) {
      if (!writer->Write(m)) break;
    }
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    return std::make_pair(st, d);
  };
  auto message = [](const std::string& name, const std::string& data, int64_t offset, bool last,
                    int crc_delta = 0) {
    v1::UploadDatasetRequest m;
    m.set_name(name);
    m.set_offset(offset);
    m.set_data(data);
    m.set_crc32(static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()),
                                            static_cast<uInt>(data.size()))) +
                static_cast<uint32_t>(crc_delta));
    m.set_last(last);
    return m;
  };
  // Names that could leave the data dir, or are not names.
  for (const std::string& bad :
       std::vector<std::string>{"../etc", "a/b", ".hidden", "", std::string(200, 'x')}) {
    auto [st, d] = upload({message(bad, "id\n1\n", 0, true)});
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  // A corrupted chunk: DATA_LOSS, and what came before it stays.
  auto [lost, partial] = upload({message("d", "customer_id,v\n", 0, false),
                                 message("d", "C1,1\n", 0, false, /*crc_delta=*/1)});
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(lost.error_message(), HasSubstr("resume at offset 14"));
  auto where = client_->GetDataset("d");
  ASSERT_TRUE(where.ok());
  EXPECT_FALSE(where->complete());
  EXPECT_EQ(where->bytes(), 14);
  // Resuming elsewhere names the offset to use; at it, the upload finishes.
  auto [wrong, w] = upload({message("d", "C1,1\n", 3, true)});
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(wrong.error_message(), HasSubstr("resumes at offset 14"));
  auto [ok, done] = upload({message("d", "C1,1\n", 14, true)});
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_TRUE(done.complete());
  EXPECT_THAT(done.columns(), ::testing::ElementsAre("customer_id", "v"));
  // Once complete, it is not overwritten.
  auto [exists, e] = upload({message("d", "x\n", 0, true)});
  EXPECT_EQ(exists.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Not CSV with a header: refused, nothing kept.
  auto [dup, du] = upload({message("dup", "a,a\n1,2\n", 0, true)});
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(dup.error_message(), HasSubstr("dataset dup: "));
  EXPECT_EQ(client_->GetDataset("dup").status().code(), absl::StatusCode::kNotFound);
  // Data that says gzip and is not, a gzip stream cut short, a header that
  // is not UTF-8 text: refused, naming why.
  const std::string gz = testing::TempDir::Read(dir_.Write("g.csv.gz", "customer_id,v\nC1,1\n"));
  auto gzip = [&](const std::string& name, const std::string& data) {
    v1::UploadDatasetRequest m = message(name, data, 0, true);
    m.set_gzip(true);
    return upload({m}).first;
  };
  EXPECT_TRUE(gzip("zipped", gz).ok());
  auto plain = gzip("plain", "customer_id,v\nC1,1\n");
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(plain.error_message(), HasSubstr("not gzip-compressed"));
  auto cut = gzip("cut", gz.substr(0, gz.size() - 8));
  EXPECT_EQ(cut.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(cut.error_message(), HasSubstr("gzip data is damaged"));
  auto latin = upload({message("latin", "\xff\xfe,x\n1,2\n", 0, true)}).first;
  EXPECT_EQ(latin.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(latin.error_message(), HasSubstr("name is not UTF-8 text"));
  EXPECT_TRUE(client_->ListDatasets().ok());
  // A stream that ends without `last` keeps what came and says where it stands.
  auto [open, o] = upload({message("open", "customer_id,v\n", 0, false)});
  ASSERT_TRUE(open.ok()) << open.error_message();
  EXPECT_FALSE(o.complete());
  EXPECT_FALSE(o.uploading());
  EXPECT_EQ(o.bytes(), 14);
}

TEST_F(SdkTest, JobsAnswerThroughTheHandle) {
  v1::JobSpec spec = Spec();
  spec.add_inputs(input_);
  auto job = client_->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  std::vector<std::string> phases;
  auto done = job->Wait([&](const v1::Job& j) { phases.push_back(j.progress().phase()); });
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(phases.back(), "done");
  auto kpis = job->Kpis();
  ASSERT_TRUE(kpis.ok());
  EXPECT_GT(kpis->rows_size(), 0);
  ResultColumns columns;
  int64_t rows = 0;
  ASSERT_TRUE(job->Rows(
                     true,
                     [&](const v1::ResultRow& r) {
                       ++rows;
                       EXPECT_EQ(r.tiers_size(), 2);
                       EXPECT_EQ(r.contributions_size(), 3);
                       return absl::OkStatus();
                     },
                     &columns)
                  .ok());
  EXPECT_EQ(rows, 30000);
  EXPECT_THAT(columns.schemes, ::testing::ElementsAre("ladder", "abc"));
  // A sink's error stops the stream and is the answer.
  EXPECT_EQ(
      job->Rows(false, [](const v1::ResultRow&) { return absl::AbortedError("enough"); }).code(),
      absl::StatusCode::kAborted);
  // Errors keep the server's code and message.
  EXPECT_EQ(client_->Attach("job-none").Get().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(job->Publish().status().code(), absl::StatusCode::kFailedPrecondition);
  v1::JobSpec bad = Spec();
  bad.add_inputs(input_);
  bad.mutable_policy_text()->set_text("id_column: [\n");
  EXPECT_THAT(client_->Submit(bad).status().message(), HasSubstr("value_ladder.yaml:"));
  EXPECT_EQ(Client::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tierscore::client

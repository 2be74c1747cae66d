// The public API end to end: a coordinator and two workers, all real gRPC
// servers on 127.0.0.1:0, driven through the client the CLI uses.
#include <cmath>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/local_run.h"
#include "client/remote_run.h"
#include "common/config_loader.h"
#include "common/memory_store.h"
#include "coordinator/coordinator_server.h"
#include "engine/generator.h"
#include "engine/results_csv.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/http.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"
#include "tierscore/client.h"
#include "worker/worker_server.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;

std::string Example(const std::string& rel) {
  return std::string(TIERSCORE_SOURCE_DIR) + "/examples/" + rel;
}

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoordinatorServerOptions options;
    for (int i = 0; i < 2; ++i) {
      auto w = worker::WorkerServer::Create({.listen = "127.0.0.1:0", .threads = 1});
      ASSERT_TRUE(w.ok()) << w.status();
      options.pool.targets.push_back((*w)->address());
      workers_.push_back(*std::move(w));
    }
    options.jobs.max_running = 1;
    options.max_streams_per_client = 2;
    auto c = CoordinatorServer::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = *std::move(c);
    client_ = *client::Client::Create({.target = coordinator_->address(), .insecure = true});

    engine::GeneratorOptions gen;
    gen.rows = 40000;
    gen.seed = 4;
    input_ = dir_.path() + "/customers.csv";
    ASSERT_TRUE(engine::GenerateCustomers(gen, input_).ok());
  }

  client::RemoteRunOptions Submit() {
    client::RemoteRunOptions o;
    o.client = {.target = coordinator_->address(), .insecure = true};
    o.inputs = {input_};
    o.policy_path = Example("policies/value_ladder.yaml");
    o.kpis_path = Example("kpis/by_tier_segment.yaml");
    o.timeout = absl::Minutes(2);
    o.no_publish = true;  // this coordinator has no store
    return o;
  }

  testing::TempDir dir_;
  std::string input_;
  std::vector<std::unique_ptr<worker::WorkerServer>> workers_;
  std::unique_ptr<CoordinatorServer> coordinator_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(CoordinatorServiceTest, SubmitWatchAndFetchEqualTheReference) {
  client::RemoteRunOptions o = Submit();
  o.wait = true;
  o.results_path = dir_.path() + "/results.csv";
  o.kpis_out_path = dir_.path() + "/kpis.csv";
  std::vector<std::string> phases;
  o.on_update = [&](const v1::Job& j) {
    if (phases.empty() || phases.back() != j.progress().phase())
      phases.push_back(j.progress().phase());
  };
  auto job = client::SubmitJob(o);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(phases.back(), "done");
  EXPECT_GT(job->progress().elapsed_seconds(), 0);

  // The same answer as the reference, and as local mode's files.
  auto spec = client::LoadJobSpec({input_}, o.policy_path, o.kpis_path);
  auto compiled = engine::CompileJob(spec->policy(), spec->kpis());
  auto ref = engine::RunReference(**compiled, {input_});
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(testing::ResultDiff(job->result(), ref->result), "");
  client::LocalRunOptions local;
  local.inputs = {input_};
  local.policy_path = o.policy_path;
  local.kpis_path = o.kpis_path;
  local.results_path = dir_.path() + "/local_results.csv";
  local.kpis_out_path = dir_.path() + "/local_kpis.csv";
  ASSERT_TRUE(client::RunLocal(local).ok());
  EXPECT_EQ(testing::TempDir::Read(o.results_path), testing::TempDir::Read(local.results_path));
  EXPECT_EQ(testing::TempDir::Read(o.kpis_out_path), testing::TempDir::Read(local.kpis_out_path));

  auto listed = client_->ListJobs();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->jobs_size(), 1);
  EXPECT_EQ(listed->jobs(0).id(), job->id());
}

std::unique_ptr<v1::Coordinator::Stub> Stub(const std::string& address) {
  return v1::Coordinator::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(1)));
  return ctx;
}

// A stub on a connection of its own with a small flow-control window: a
// client that stops reading holds its stream (results are megabytes, each
// chunk up to 1 MiB).
std::unique_ptr<v1::Coordinator::Stub> SmallWindowStub(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::Coordinator::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

// A results stream read to its end on a connection of its own: its status.
grpc::Status ReadAllResults(const std::string& address, const v1::StreamResultsRequest& req) {
  auto stub = SmallWindowStub(address);
  auto ctx = Context();
  auto reader = stub->StreamResults(ctx.get(), req);
  v1::ResultsChunk chunk;
  while (reader->Read(&chunk)) {
  }
  return reader->Finish();
}

TEST_F(CoordinatorServiceTest, ResultsStreamAsWholeCsvRowsOrAsTypedRows) {
  client::RemoteRunOptions o = Submit();
  o.wait = true;
  o.results_path = dir_.path() + "/results.csv";
  o.explain = true;
  auto job = client::SubmitJob(o);
  ASSERT_TRUE(job.ok()) << job.status();
  const std::vector<std::string> lines =
      absl::StrSplit(testing::TempDir::Read(o.results_path), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 40001u);

  auto stub = Stub(coordinator_->address());
  v1::StreamResultsRequest req;
  req.set_id(job->id());
  req.set_explain(true);
  {
    auto ctx = Context();
    auto reader = stub->StreamResults(ctx.get(), req);
    v1::ResultsChunk chunk;
    int chunks = 0;
    std::string csv;
    while (reader->Read(&chunk)) {
      ++chunks;
      EXPECT_EQ(chunk.csv().back(), '\n');  // every chunk ends a row
      EXPECT_LE(chunk.csv().size(), size_t{1} << 20);
      csv += chunk.csv();
    }
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(csv, testing::TempDir::Read(o.results_path));
  }
  req.set_rows(true);
  auto ctx = Context();
  auto reader = stub->StreamResults(ctx.get(), req);
  v1::ResultsChunk chunk;
  std::vector<v1::ResultRow> rows;
  std::vector<std::string> schemes, criteria;
  while (reader->Read(&chunk)) {
    if (schemes.empty()) {
      schemes.assign(chunk.schemes().begin(), chunk.schemes().end());
      criteria.assign(chunk.criteria().begin(), chunk.criteria().end());
    }
    EXPECT_TRUE(chunk.csv().empty());
    for (const auto& r : chunk.rows()) rows.push_back(r);
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_THAT(schemes, ::testing::ElementsAre("ladder", "abc"));
  EXPECT_THAT(criteria, ::testing::ElementsAre("revenue", "margin", "recency"));
  ASSERT_EQ(rows.size(), lines.size() - 1);
  for (size_t i = 0; i < rows.size(); ++i) {
    // The row as CSV again: the same text as the CSV stream's row.
    std::string again = absl::StrCat(rows[i].customer_id(), ",");
    engine::AppendDouble(rows[i].score(), &again);
    for (const std::string& t : rows[i].tiers()) absl::StrAppend(&again, ",", t);
    absl::StrAppend(&again, ",");
    engine::AppendMicros(std::llround(rows[i].value() * 1e6), &again);
    for (double c : rows[i].contributions()) {
      again += ',';
      engine::AppendDouble(c, &again);
    }
    ASSERT_EQ(again, lines[i + 1]) << "row " << i;
  }
}

TEST_F(CoordinatorServiceTest, ResultStreamsPerClientAreBounded) {
  // Two jobs, a stream held on each.
  std::vector<std::string> jobs;
  for (const char* policy : {"policies/value_ladder.yaml", "policies/loyalty.yaml"}) {
    client::RemoteRunOptions o = Submit();
    o.wait = true;
    o.policy_path = Example(policy);
    auto job = client::SubmitJob(o);
    ASSERT_TRUE(job.ok()) << job.status();
    jobs.push_back(job->id());
  }
  // Each stream on a connection of its own: a client that stops reading
  // holds its stream and only its own.
  auto connect = [&] { return SmallWindowStub(coordinator_->address()); };
  v1::StreamResultsRequest req;
  req.set_explain(true);
  // Two streams held open (one chunk read each), the limit for this client.
  std::vector<std::unique_ptr<v1::Coordinator::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ResultsChunk>>> held;
  for (int i = 0; i < 2; ++i) {
    stubs.push_back(connect());
    contexts.push_back(Context());
    req.set_id(jobs[static_cast<size_t>(i)]);
    held.push_back(stubs.back()->StreamResults(contexts.back().get(), req));
    v1::ResultsChunk chunk;
    ASSERT_TRUE(held.back()->Read(&chunk));
  }
  req.set_id(jobs[0]);
  auto another = [&] { return ReadAllResults(coordinator_->address(), req); };
  const grpc::Status refused = another();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max-streams-per-client"));
  // One given up: its slot comes back, and a new stream runs to the end.
  contexts[0]->TryCancel();
  EXPECT_EQ(held[0]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  grpc::Status st;
  for (int attempt = 0; attempt < 100; ++attempt) {
    st = another();
    if (st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(st.ok()) << st.error_message();
  contexts[1]->TryCancel();
  held[1]->Finish();
}

// A client that opens a results stream and stops reading would hold a
// thread and its slot for ever: past the stall timeout its call is cancelled.
TEST_F(CoordinatorServiceTest, AStreamWhoseClientStopsReadingIsCancelledAfterTheStallTimeout) {
  CoordinatorServerOptions options;
  for (const auto& w : workers_) options.pool.targets.push_back(w->address());
  options.max_streams_per_client = 1;
  options.stream_stall_timeout = absl::Seconds(1);
  auto coordinator = CoordinatorServer::Create(options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  client::RemoteRunOptions o = Submit();
  o.client.target = (*coordinator)->address();
  o.wait = true;
  auto job = client::SubmitJob(o);
  ASSERT_TRUE(job.ok()) << job.status();

  v1::StreamResultsRequest req;
  req.set_id(job->id());
  req.set_explain(true);
  auto stalled_stub = SmallWindowStub((*coordinator)->address());
  auto stalled_ctx = Context();
  auto stalled = stalled_stub->StreamResults(stalled_ctx.get(), req);
  v1::ResultsChunk chunk;
  ASSERT_TRUE(stalled->Read(&chunk));  // then reads no more
  auto another = [&] { return ReadAllResults((*coordinator)->address(), req); };
  EXPECT_EQ(another().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::Status st;
  for (int attempt = 0; attempt < 200; ++attempt) {  // the slot comes back after ~1 s
    st = another();
    if (st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(st.ok()) << st.error_message();
  while (stalled->Read(&chunk)) {
  }
  EXPECT_EQ(stalled->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(CoordinatorServiceTest, WatchSendsEveryStateAndThrottlesProgress) {
  v1::JobSpec spec;
  spec.add_inputs(input_);
  spec.set_no_publish(true);
  spec.set_split_bytes(20000);  // about 200 splits: a progress update each
  ASSERT_TRUE(
      common::LoadYamlFile(Example("policies/value_ladder.yaml"), spec.mutable_policy()).ok());
  auto submitted = client_->Submit(spec);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  auto stub = Stub(coordinator_->address());
  v1::WatchJobRequest req;
  req.set_id(submitted->id());
  auto ctx = Context();
  const absl::Time start = absl::Now();
  auto reader = stub->WatchJob(ctx.get(), req);
  v1::Job job;
  std::vector<v1::JobState> states;
  std::vector<std::string> phases;
  int messages = 0;
  int64_t splits_total = 0;
  while (reader->Read(&job)) {
    ++messages;
    splits_total = std::max<int64_t>(splits_total, job.progress().splits_total());
    if (states.empty() || states.back() != job.state()) states.push_back(job.state());
    if (phases.empty() || phases.back() != job.progress().phase()) {
      phases.push_back(job.progress().phase());
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  EXPECT_EQ(states.back(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_THAT(states, ::testing::Contains(v1::JOB_STATE_RUNNING));
  EXPECT_GT(splits_total, 100);
  EXPECT_THAT(phases, ::testing::IsSupersetOf({"load", "score", "assign", "done"}));
  // Every state and phase, and progress at most four times a second (plus
  // the first message and each change).
  EXPECT_LE(messages, 4 * seconds + 1 + static_cast<double>(states.size() + phases.size()))
      << messages << " messages in " << seconds << " s";
}

TEST_F(CoordinatorServiceTest, ListJobsPagesAndFilters) {
  v1::JobSpec spec;
  spec.add_inputs(input_);
  spec.set_no_publish(true);
  ASSERT_TRUE(
      common::LoadYamlFile(Example("policies/value_ladder.yaml"), spec.mutable_policy()).ok());
  std::vector<std::string> ids;  // newest last
  for (int i = 0; i < 5; ++i) ids.push_back(client_->Submit(spec)->id());
  // One runs at a time: the last two are still queued, and are cancelled.
  ASSERT_TRUE(client_->Attach(ids[3]).Cancel().ok());
  ASSERT_TRUE(client_->Attach(ids[4]).Cancel().ok());

  std::vector<std::string> paged;
  v1::ListJobsRequest req;
  req.set_page_size(2);
  int pages = 0;
  do {
    auto page = client_->ListJobs(req);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    EXPECT_LE(page->jobs_size(), 2);
    for (const auto& j : page->jobs()) paged.push_back(j.id());
    req.set_page_token(page->next_page_token());
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged, std::vector<std::string>(ids.rbegin(), ids.rend()));

  v1::ListJobsRequest cancelled;
  cancelled.add_states(v1::JOB_STATE_CANCELLED);
  auto page = client_->ListJobs(cancelled);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs_size(), 2);
  EXPECT_EQ(page->jobs(0).id(), ids[4]);
  EXPECT_EQ(page->jobs(1).id(), ids[3]);
  v1::ListJobsRequest recent;
  recent.set_submitted_after_unix(client_->Attach(ids[2]).Get()->submitted_unix());
  EXPECT_EQ(client_->ListJobs(recent)->jobs_size(), 2);
  v1::ListJobsRequest by_alias;
  by_alias.set_alias("customers/other");
  EXPECT_EQ(client_->ListJobs(by_alias)->jobs_size(), 0);

  v1::ListJobsRequest bad;
  bad.set_page_token("garbage");
  EXPECT_THAT(client_->ListJobs(bad).status().message(), HasSubstr("page_token: not a token"));
  bad.Clear();
  bad.set_page_size(1001);
  EXPECT_EQ(client_->ListJobs(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.Clear();
  bad.add_states(static_cast<v1::JobState>(99));
  EXPECT_THAT(client_->ListJobs(bad).status().message(), HasSubstr("states[0]: unknown value 99"));
}

TEST_F(CoordinatorServiceTest, HealthAnswersForTheServiceByName) {
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(coordinator_->address(), grpc::InsecureChannelCredentials()));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  req.set_service("tierscore.v1.Coordinator");
  ASSERT_TRUE(health->Check(Context().get(), req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  req.set_service("");
  ASSERT_TRUE(health->Check(Context().get(), req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  req.set_service("tierscore.v1.NoSuchService");
  EXPECT_EQ(health->Check(Context().get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, StatusCodesOfBadRequests) {
  EXPECT_EQ(client_->Attach("no-such-job").Get().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->Attach("no-such-job").Kpis().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->Attach("no-such-job").Cancel().status().code(), absl::StatusCode::kNotFound);
  // No id, or one that cannot be a job's: INVALID_ARGUMENT, short.
  auto no_id = client_->Attach("").Get();
  EXPECT_EQ(no_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(no_id.status().message(), "id: is required");
  auto huge_id = client_->Attach(std::string(100000, 'x') + "\n").Kpis();
  EXPECT_EQ(huge_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(huge_id.status().message().size(), 300u);

  // A spec without a policy, a negative split size or a bad alias is refused
  // at submission, naming the field.
  v1::JobSpec bare;
  bare.add_inputs(input_);
  EXPECT_EQ(client_->Submit(bare).status().message(),
            "policy: is required (as a message or as policy_text)");
  v1::JobSpec spec;
  spec.add_inputs(input_);
  spec.set_no_publish(true);
  ASSERT_TRUE(
      common::LoadYamlFile(Example("policies/value_ladder.yaml"), spec.mutable_policy()).ok());
  spec.set_split_bytes(-5);
  EXPECT_THAT(client_->Submit(spec).status().message(),
              HasSubstr("split_bytes: must be 0 (chosen for the job) or positive, got -5"));
  spec.set_split_bytes(0);
  spec.set_alias("a b\n*");
  auto bad_alias = client_->Submit(spec);
  EXPECT_EQ(bad_alias.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_alias.status().message(), HasSubstr("alias: \"a b\\n*\" is not a valid name"));

  // Publishing is explicit, and needs a store.
  spec.set_alias("");
  spec.set_no_publish(false);
  EXPECT_THAT(client_->Submit(spec).status().message(),
              HasSubstr("alias: is required to publish; set no_publish"));
  spec.set_alias("customers/x");
  EXPECT_EQ(client_->Submit(spec).status().code(), absl::StatusCode::kFailedPrecondition);
  spec.set_alias("");
  spec.set_no_publish(true);

  // Unset and unknown enums are refused, never defaulted.
  v1::JobSpec unset = spec;
  unset.mutable_policy()->mutable_criteria(1)->clear_normalize();
  EXPECT_EQ(client_->Submit(unset).status().message(),
            "criteria[1] (margin).normalize: is required (one of: none, max, minmax, zscore, "
            "percentile)");
  v1::JobSpec unknown = spec;
  unknown.mutable_policy()->mutable_criteria(0)->set_direction(static_cast<v1::Direction>(99));
  EXPECT_EQ(client_->Submit(unknown).status().message(),
            "criteria[0] (revenue).direction: unknown value 99 (expected one of: higher, lower)");
  v1::JobSpec no_agg = spec;
  no_agg.mutable_kpis()->add_metrics()->set_name("n");
  EXPECT_THAT(client_->Submit(no_agg).status().message(),
              HasSubstr("metrics[0] (n).agg: is required (one of: count, sum,"));

  // A policy as text is read as a file is, with the name the client chose.
  v1::JobSpec text = spec;
  text.clear_policy();
  text.mutable_policy_text()->set_name("mine.yaml");
  text.mutable_policy_text()->set_text(
      "id_column: customer_id\nvalue: revenue_12m\n"
      "criteria:\n  - {name: r, expr: x, weight: heavy}\n");
  EXPECT_EQ(client_->Submit(text).status().message(),
            "mine.yaml:4:32: criteria[0].weight: expected a number, got \"heavy\"");
  // Errors found after parsing name the text too.
  text.mutable_policy_text()->set_text(
      "id_column: customer_id\nvalue: revenue_12m\ncriteria: [{name: r, expr: revenue_12m, "
      "weight: 1, normalize: max}]\ntiers: [{name: abc, abc: {}}]\n");
  EXPECT_EQ(client_->Submit(text).status().message(),
            "mine.yaml: criteria[0] (r).direction: is required (one of: higher, lower)");
  text.mutable_policy_text()->set_text("id_column: a\nid_column: b\n");
  EXPECT_EQ(client_->Submit(text).status().message(), "mine.yaml:2:1: id_column: duplicate key");
  v1::JobSpec both = spec;
  both.mutable_policy_text()->set_text("id_column: a\n");
  EXPECT_THAT(client_->Submit(both).status().message(),
              HasSubstr("policy: give the message or its text (policy_text), not both"));
  v1::JobSpec bad_name = text;
  bad_name.mutable_policy_text()->set_name("a b");
  EXPECT_THAT(client_->Submit(bad_name).status().message(),
              HasSubstr("policy_text.name: \"a b\" is not a valid name"));

  // A bad policy file is refused at submission, naming the field.
  client::RemoteRunOptions bad = Submit();
  bad.policy_path = dir_.Write("bad.yaml",
                               "id_column: customer_id\nvalue: revenue_12m\n"
                               "criteria: [{name: r, expr: \"lg(revenue_12m)\"}]\n"
                               "tiers: [{name: abc, abc: {}}]\n");
  auto refused = client::SubmitJob(bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("criteria[0] (r).expr"));

  // Inputs are checked at submission: absolute, present, a readable file
  // with every column the job uses.
  auto input_error = [&](const std::string& path) {
    v1::JobSpec s = spec;
    s.set_inputs(0, path);
    return client_->Submit(s).status();
  };
  absl::Status relative = input_error("c.csv");
  EXPECT_EQ(relative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(relative.message(), HasSubstr("inputs[0]: \"c.csv\" is not an absolute path"));
  absl::Status nowhere = input_error(dir_.path() + "/nowhere.csv");
  EXPECT_EQ(nowhere.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(nowhere.message(), HasSubstr("nowhere.csv\" does not exist"));
  absl::Status directory = input_error(dir_.path());
  EXPECT_EQ(directory.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(directory.message(), HasSubstr("is not a regular file"));
  absl::Status few = input_error(dir_.Write("few.csv", "customer_id,revenue_12m\nA,1\n"));
  EXPECT_EQ(few.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(few.message(), HasSubstr("inputs[0]: " + dir_.path() +
                                       "/few.csv: column \"margin_12m\" is not in the header"));

  // A bad value is found while the job runs: it fails with the code and
  // the place; its KPIs are FAILED_PRECONDITION.
  std::ifstream in(input_);
  std::string header;
  std::getline(in, header);
  std::string row = "Z";
  for (char c : header) {
    if (c == ',') row += ",x";
  }
  client::RemoteRunOptions bad_row = Submit();
  bad_row.inputs = {dir_.Write("bad_row.csv", header + "\n" + row + "\n")};
  bad_row.wait = true;
  auto failed = client::SubmitJob(bad_row);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed->error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(failed->error(), HasSubstr("bad_row.csv:2:"));
  auto jobs = client_->ListJobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_GT(jobs->jobs_size(), 0);
  EXPECT_EQ(client_->Attach(jobs->jobs(0).id()).Kpis().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CoordinatorServiceTest, QueuedJobsCanBeCancelled) {
  // One job runs at a time: the second waits in the queue.
  auto first = client::SubmitJob(Submit());
  auto second = client::SubmitJob(Submit());
  ASSERT_TRUE(first.ok() && second.ok());
  auto cancelled = client_->Attach(second->id()).Cancel();
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  auto end = client_->Attach(second->id()).Wait(nullptr, absl::Minutes(1));
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->state(), v1::JOB_STATE_CANCELLED);
  auto done = client_->Attach(first->id()).Wait(nullptr, absl::Minutes(1));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED);
}

}  // namespace
}  // namespace tierscore::coordinator

namespace tierscore::coordinator {
namespace {

// A job submitted while no worker is healthy waits in the queue, and runs
// once a worker starts (here: on the address the pool was given); with no
// worker within the wait it fails UNAVAILABLE.
TEST(CoordinatorQueueTest, JobsWaitForAHealthyWorker) {
  testing::TempDir dir;
  const std::string input = dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 3000}));
  int port;
  {
    auto probe = worker::WorkerServer::Create({.listen = "127.0.0.1:0", .threads = 1});
    ASSERT_TRUE(probe.ok());
    port = (*probe)->port();  // free again once this server is gone
  }
  CoordinatorServerOptions options;
  options.pool.targets = {"127.0.0.1:" + std::to_string(port)};
  options.pool.check_interval = absl::Milliseconds(100);
  options.pool.check_timeout = absl::Milliseconds(200);
  options.jobs.wait_for_workers = absl::Seconds(30);
  auto coordinator = CoordinatorServer::Create(options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  EXPECT_TRUE((*coordinator)->workers()->Healthy().empty());
  auto client = *client::Client::Create({.target = (*coordinator)->address(), .insecure = true});

  client::RemoteRunOptions o;
  o.client = {.target = (*coordinator)->address(), .insecure = true};
  o.inputs = {input};
  o.policy_path = std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/value_ladder.yaml";
  o.no_publish = true;  // no store
  auto submitted = client::SubmitJob(o);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(client->Attach(submitted->id()).Get()->state(), v1::JOB_STATE_QUEUED);

  auto worker =
      worker::WorkerServer::Create({.listen = "127.0.0.1:" + std::to_string(port), .threads = 1});
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto done = client->Attach(submitted->id()).Wait(nullptr, absl::Minutes(1));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_EQ(done->result().customers(), 3000);

  // Nobody at this address: the job gives up after the wait.
  CoordinatorServerOptions lonely = options;
  lonely.pool.targets = {"127.0.0.1:1"};
  lonely.jobs.wait_for_workers = absl::Milliseconds(300);
  auto alone = CoordinatorServer::Create(lonely);
  ASSERT_TRUE(alone.ok());
  o.client = {.target = (*alone)->address(), .insecure = true};
  o.wait = true;
  auto failed = client::SubmitJob(o);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed->error_code(), static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_THAT(failed->error(), ::testing::HasSubstr("no healthy worker"));
}

}  // namespace
}  // namespace tierscore::coordinator

namespace tierscore::coordinator {
namespace {

TEST(MetricsTest, WorkersAndCoordinatorExportPrometheusMetrics) {
  testing::TempDir dir;
  const std::string input = dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 5000}));
  auto worker = worker::WorkerServer::Create(
      {.listen = "127.0.0.1:0", .threads = 1, .metrics_listen = "127.0.0.1:0"});
  ASSERT_TRUE(worker.ok()) << worker.status();
  ASSERT_GT((*worker)->metrics_port(), 0);
  CoordinatorServerOptions options;
  options.pool.targets = {(*worker)->address()};
  options.metrics_listen = "127.0.0.1:0";
  auto coordinator = CoordinatorServer::Create(options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();

  client::RemoteRunOptions o;
  o.client = {.target = (*coordinator)->address(), .insecure = true};
  o.inputs = {input};
  o.policy_path = std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/value_ladder.yaml";
  o.no_publish = true;  // no store
  o.wait = true;
  ASSERT_TRUE(client::SubmitJob(o).ok());

  auto w = testing::HttpGet((*worker)->metrics_port(), "/metrics");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_THAT(*w, HasSubstr("tierscore_worker_rows_loaded_total 5000"));
  EXPECT_THAT(*w, HasSubstr("tierscore_rpc_total{code=\"OK\",method=\"Load\",service=\"Worker\"}"));
  EXPECT_THAT(*w, HasSubstr("tierscore_rpc_seconds_count{method=\"Probe\",service=\"Worker\"}"));

  auto c = testing::HttpGet((*coordinator)->metrics_port(), "/metrics");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(*c, HasSubstr("tierscore_jobs{state=\"succeeded\"} 1"));
  EXPECT_THAT(*c, HasSubstr("tierscore_jobs{state=\"running\"} 0"));
  EXPECT_THAT(*c, HasSubstr("tierscore_rows_scored_total 5000"));
  EXPECT_THAT(*c, HasSubstr("tierscore_job_phase_seconds_count{phase=\"search\"} 1"));
  EXPECT_THAT(*c, HasSubstr("tierscore_workers{state=\"healthy\"} 1"));
  EXPECT_THAT(
      *c,
      HasSubstr("tierscore_rpc_total{code=\"OK\",method=\"SubmitJob\",service=\"Coordinator\"} 1"));
}

// A store whose writes take a while, as a distant Redis's would.
class SlowStore : public common::MemoryStore {
 public:
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) override {
    absl::SleepFor(absl::Milliseconds(300));
    return common::MemoryStore::Get(key);
  }
};

// The value of one metric line ("name{labels} value"), or -1.
double MetricValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double v = -1;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
  }
  return -1;
}

TEST(MetricsTest, SlowCallsShowInTheLatencyHistogram) {
  SlowStore store;
  auto worker = worker::WorkerServer::Create({.listen = "127.0.0.1:0", .threads = 1});
  ASSERT_TRUE(worker.ok()) << worker.status();
  CoordinatorServerOptions options;
  options.pool.targets = {(*worker)->address()};
  options.metrics_listen = "127.0.0.1:0";
  options.store = &store;  // a lookup reads the alias: one slow read
  auto coordinator = CoordinatorServer::Create(options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  auto client = *client::Client::Create({.target = (*coordinator)->address(), .insecure = true});
  auto found = client->Lookup(client::RunRef::Alias("customers/none"), "C1");
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound) << found.status();

  auto c = testing::HttpGet((*coordinator)->metrics_port(), "/metrics");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string labels = "{method=\"LookupTier\",service=\"Coordinator\"}";
  EXPECT_EQ(MetricValue(*c, "tierscore_rpc_seconds_count" + labels), 1);
  EXPECT_GE(MetricValue(*c, "tierscore_rpc_seconds_sum" + labels), 0.3) << *c;
}

// A stopped Redis (SIGSTOP: connections hang, nothing answers) blocks only
// the calls that need it: with lookups hanging on it, submitting a job that
// does not publish, following it, listing, cancelling and health checks all
// answer at once (each well within 1 s; the store's timeout is 2 s).
TEST(RedisOutageTest, AStoppedRedisBlocksOnlyTheCallsThatNeedIt) {
  testing::TempDir dir;
  auto redis = testing::RedisServer::Start(dir.path());
  ASSERT_TRUE(redis.ok()) << redis.status();
  auto worker = worker::WorkerServer::Create({.threads = 1});
  ASSERT_TRUE(worker.ok());
  CoordinatorServerOptions options;
  options.pool.targets = {(*worker)->address()};
  options.redis = (*redis)->address();
  auto coordinator = CoordinatorServer::Create(options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::string target = (*coordinator)->address();
  auto client = *client::Client::Create({.target = target, .insecure = true, .max_attempts = 1});
  const std::string input = dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 200}));
  v1::JobSpec spec;
  *spec.mutable_policy_text() = *client::ReadConfigFile(Example("policies/value_ladder.yaml"));
  spec.add_inputs(input);
  spec.set_no_publish(true);
  spec.set_no_cache(true);
  auto warm = client->Submit(spec);  // connections to Redis exist before it stops
  ASSERT_TRUE(warm.ok()) << warm.status();
  ASSERT_TRUE(warm->Wait(nullptr, absl::Seconds(30)).ok());

  (*redis)->Pause();
  std::vector<std::thread> lookups;
  for (int i = 0; i < 16; ++i) {
    lookups.emplace_back([&] {
      auto c = *client::Client::Create({.target = target, .insecure = true, .max_attempts = 1});
      (void)c->Lookup(client::RunRef::Alias("customers/default"), "C0000001");
    });
  }
  absl::SleepFor(absl::Milliseconds(100));  // the lookups are waiting on Redis
  auto quick = [](const char* what, auto&& call) {
    const absl::Time start = absl::Now();
    const bool ok = call();
    const absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(ok) << what;
    EXPECT_LT(took, absl::Seconds(1)) << what << " took " << took;
  };
  absl::StatusOr<client::Job> job = absl::UnknownError("not submitted");
  quick("submit", [&] { return (job = client->Submit(spec)).ok(); });
  ASSERT_TRUE(job.ok()) << job.status();
  quick("status", [&] { return job->Get().ok(); });
  quick("list", [&] { return client->ListJobs().ok(); });
  quick("cancel", [&] { return job->Cancel().ok(); });
  quick("health", [&] {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    return stub->Check(&ctx, req, &resp).ok() &&
           resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  });
  (*redis)->Resume();
  for (std::thread& t : lookups) t.join();
}

}  // namespace
}  // namespace tierscore::coordinator

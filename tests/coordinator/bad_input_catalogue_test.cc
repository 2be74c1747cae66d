// The catalogue of bad input: every kind of bad or oversized request a
// careless client or an attacker sends, each through the real Coordinator
// API (SDK, servers on 127.0.0.1:0), each answered with the documented code
// and an error naming what is wrong and where, and none crashing a server:
// after the whole catalogue the cluster still runs a job.
#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/memory_store.h"
#include "common/names.h"
#include "coordinator/coordinator_server.h"
#include "engine/csv.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tierscore/client.h"
#include "worker/worker_server.h"

namespace tierscore {
namespace {

using ::testing::HasSubstr;

std::string Example(const std::string& rel) {
  return testing::TempDir::Read(std::string(TIERSCORE_SOURCE_DIR) + "/examples/" + rel);
}

// The example policy with `from` replaced by `to`.
std::string PolicyWith(const std::string& from, const std::string& to) {
  const std::string policy = Example("policies/value_ladder.yaml");
  EXPECT_THAT(policy, HasSubstr(from));
  return absl::StrReplaceAll(policy, {{from, to}});
}

std::string Repeat(const std::string& unit, int n, const std::string& sep = "") {
  std::string out;
  for (int i = 0; i < n; ++i) absl::StrAppend(&out, i > 0 ? sep : "", unit, i);
  return out;
}

struct BadInput {
  std::string what;
  std::function<void(v1::JobSpec&)> spoil;
  absl::StatusCode code;
  std::string error;  // a part of the message
};

class BadInputCatalogueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/data";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    input_ = dir_.Write("data/customers.csv", engine::GenerateCustomersCsv({.rows = 500}));
    auto worker = worker::WorkerServer::Create({.threads = 1, .data_roots = {root_}});
    ASSERT_TRUE(worker.ok());
    worker_ = *std::move(worker);
    coordinator::CoordinatorServerOptions c;
    c.pool.targets = {worker_->address()};
    c.data_roots = {root_};
    c.store = &store_;
    c.jobs.runner.max_splits = 1000;
    c.jobs.runner.max_groups = 20;
    auto coordinator = coordinator::CoordinatorServer::Create(c);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = *std::move(coordinator);
    client_ = *client::Client::Create({.target = coordinator_->address(), .insecure = true});
  }

  v1::JobSpec Good() const {
    v1::JobSpec spec;
    spec.mutable_policy_text()->set_name("policy.yaml");
    spec.mutable_policy_text()->set_text(Example("policies/value_ladder.yaml"));
    spec.add_inputs(input_);
    spec.set_no_publish(true);
    return spec;
  }

  static void Policy(v1::JobSpec& spec, const std::string& text) {
    spec.mutable_policy_text()->set_text(text);
  }

  testing::TempDir dir_;
  std::string root_, input_;
  common::MemoryStore store_;
  std::unique_ptr<worker::WorkerServer> worker_;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(BadInputCatalogueTest, EveryBadSubmissionIsRefusedNamingWhatAndWhere) {
  const std::string criterion =
      "  - name: c\n    expr: margin_12m\n    normalize: none\n    weight: 1\n"
      "    direction: higher\n";
  std::string many_criteria;
  for (int i = 0; i < 65; ++i) {
    many_criteria += absl::StrReplaceAll(criterion, {{"name: c", absl::StrCat("name: c", i)}});
  }
  const std::string huge_name(3 << 20, 'n');
  const std::string wide_header =
      dir_.Write("data/wide.csv", absl::StrCat("customer_id,", huge_name, "\nC1,1\n"));
  const std::string endless = dir_.Write("data/endless.csv", std::string(3 << 20, 'x'));
  const std::string outside = dir_.Write("outside.csv", engine::GenerateCustomersCsv({.rows = 5}));

  const std::vector<BadInput> catalogue = {
      {"no policy", [](v1::JobSpec& s) { s.clear_policy_text(); },
       absl::StatusCode::kInvalidArgument, "policy: is required"},
      {"a policy that is not YAML", [](v1::JobSpec& s) { Policy(s, "criteria: [\n  - {"); },
       absl::StatusCode::kInvalidArgument, "policy.yaml:"},
      {"a weight that is not a number",
       [](v1::JobSpec& s) { Policy(s, PolicyWith("weight: 0.5", "weight: heavy")); },
       absl::StatusCode::kInvalidArgument, "policy.yaml:8:"},
      {"an expression nested 1500 deep",
       [](v1::JobSpec& s) {
         Policy(s, PolicyWith("expr: margin_12m", "expr: " + std::string(1500, '(') + "margin_12m" +
                                                      std::string(1500, ')')));
       },
       absl::StatusCode::kInvalidArgument, "nested too deeply"},
      {"an expression longer than --max-expression-bytes",
       [](v1::JobSpec& s) {
         Policy(s, PolicyWith("expr: margin_12m", "expr: " + Repeat("margin_12m + ", 500)));
       },
       absl::StatusCode::kInvalidArgument, "criteria[1].expr: "},
      {"more criteria than --max-criteria",
       [&](v1::JobSpec& s) { Policy(s, PolicyWith("criteria:\n", "criteria:\n" + many_criteria)); },
       absl::StatusCode::kInvalidArgument, "criteria: 68 given, at most 64"},
      {"301 tiers in a scheme",
       [](v1::JobSpec& s) {
         std::string bounds, names = "t0";
         for (int i = 1; i <= 300; ++i) {
           absl::StrAppend(&bounds, i > 1 ? ", " : "", 0.001 * i);
           absl::StrAppend(&names, ", t", i);
         }
         Policy(s, PolicyWith("boundaries: [0.50, 0.70, 0.80, 0.90, 0.95, 0.98]\n      names: "
                              "[Diamond, Platinum, Gold, Silver, Bronze, Standard, Basic]",
                              "boundaries: [" + bounds + "]\n      names: [" + names + "]"));
       },
       absl::StatusCode::kInvalidArgument, "at most 256 tiers, got 301"},
      {"a duplicate YAML key",
       [](v1::JobSpec& s) {
         Policy(s, PolicyWith("id_column: customer_id", "id_column: a\nid_column: b"));
       },
       absl::StatusCode::kInvalidArgument, "policy.yaml:3:"},
      {"a request larger than --max-request-bytes",
       [](v1::JobSpec& s) {
         Policy(s, PolicyWith("name: value_ladder",
                              "name: value_ladder\n# " + std::string(5 << 20, 'z')));
       },
       absl::StatusCode::kResourceExhausted, ""},
      {"a relative input", [](v1::JobSpec& s) { s.set_inputs(0, "customers.csv"); },
       absl::StatusCode::kInvalidArgument, "inputs[0]: \"customers.csv\" is not an absolute path"},
      {"an input outside the data roots", [&](v1::JobSpec& s) { s.set_inputs(0, outside); },
       absl::StatusCode::kPermissionDenied,
       "inputs[0]: \"" + outside + "\" is outside the data roots"},
      {"/etc/shadow", [](v1::JobSpec& s) { s.set_inputs(0, "/etc/shadow"); },
       absl::StatusCode::kPermissionDenied, "is outside the data roots"},
      {"a path climbing out", [&](v1::JobSpec& s) { s.set_inputs(0, root_ + "/../outside.csv"); },
       absl::StatusCode::kPermissionDenied, "is outside the data roots"},
      {"a device", [](v1::JobSpec& s) { s.set_inputs(0, "/dev/zero"); },
       absl::StatusCode::kPermissionDenied, "is outside the data roots"},
      {"an input listed twice", [&](v1::JobSpec& s) { s.add_inputs(input_); },
       absl::StatusCode::kInvalidArgument,
       "inputs[1]: \"" + input_ + "\" is listed twice (also inputs[0])"},
      {"a missing input", [&](v1::JobSpec& s) { s.set_inputs(0, root_ + "/none.csv"); },
       absl::StatusCode::kNotFound, "inputs[0]: \"" + root_ + "/none.csv\" does not exist"},
      {"a 3 MB header (no end within the limit)",
       [&](v1::JobSpec& s) { s.set_inputs(0, wide_header); }, absl::StatusCode::kInvalidArgument,
       "wide.csv:1: the header has no end within 1 MiB"},
      {"a 100 KB id column name (the error is cut)",
       [](v1::JobSpec& s) {
         Policy(s, PolicyWith("id_column: customer_id", "id_column: " + std::string(100000, 'i')));
       },
       absl::StatusCode::kNotFound, "more bytes)"},
      {"a header without an end", [&](v1::JobSpec& s) { s.set_inputs(0, endless); },
       absl::StatusCode::kInvalidArgument, "endless.csv:1: the header has no end within 1 MiB"},
      {"an alias that is not a name",
       [](v1::JobSpec& s) {
         s.set_no_publish(false);
         s.set_alias("a b");
       },
       absl::StatusCode::kInvalidArgument, "alias: \"a b\" is not a valid name"},
      {"a negative split size", [](v1::JobSpec& s) { s.set_split_bytes(-1); },
       absl::StatusCode::kInvalidArgument, "split_bytes: must be 0"},
      {"an unknown dataset", [](v1::JobSpec& s) { s.add_datasets("nope"); },
       absl::StatusCode::kFailedPrecondition, ""},
  };
  for (const BadInput& bad : catalogue) {
    v1::JobSpec spec = Good();
    bad.spoil(spec);
    auto job = client_->Submit(spec);
    EXPECT_EQ(job.status().code(), bad.code) << bad.what << ": " << job.status();
    EXPECT_THAT(std::string(job.status().message()), HasSubstr(bad.error)) << bad.what;
    EXPECT_LE(job.status().message().size(), common::kMaxErrorBytes + 64) << bad.what;
  }

  // Nothing broke: the good job still runs.
  auto job = client_->Submit(Good());
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = job->Wait(nullptr, absl::Minutes(1));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
}

// Inputs whose content is bad: the job is accepted, then fails with the
// code and a message naming file, line and column (or the customer).
TEST_F(BadInputCatalogueTest, EveryBadInputFailsItsJobNamingThePlace) {
  const std::string header =
      "customer_id,revenue_12m,margin_12m,days_since_last_order,segment,region,nps\n";
  struct BadFile {
    std::string what;
    std::string content;
    std::string policy;  // empty: the example
    std::string error;
  };
  const std::vector<BadFile> catalogue = {
      {"a NUL inside an id",
       header + "C1,1,1,1,a,b,1\nC" + std::string(1, '\0') + "2,1,1,1,a,b,1\n", "",
       ":3:1: column \"customer_id\": customer id holds a control character"},
      {"an escape sequence in an id", header + "C\x1b[2J,1,1,1,a,b,1\n", "",
       ":2:1: column \"customer_id\": customer id holds a control character"},
      {"an empty id", header + ",1,1,1,a,b,1\n", "",
       ":2:1: column \"customer_id\": customer id is empty"},
      {"an id of 2000 bytes", header + std::string(2000, 'c') + ",1,1,1,a,b,1\n", "",
       "customer id is longer than 1024 bytes"},
      {"an id that is not UTF-8", header + "C\xff,1,1,1,a,b,1\n", "",
       "customer id is not valid UTF-8"},
      {"a number that is not one", header + "C1,12x,1,1,a,b,1\n", "",
       ":2:4: column \"revenue_12m\": expected a number, got \"12x\""},
      {"too many fields", header + "C1,1,1,1,a,b,1,extra\n", "", ":2:"},
      {"weights whose sum overflows the score", header + "C1,1,1,1,a,b,1\nC2,2,2,1,a,b,1\n",
       absl::StrReplaceAll(PolicyWith("    weight: 0.3", "    weight: 1e308"),
                           {{"weight: 0.5", "weight: 1e308"}}),
       "customer C2: criterion \"margin\": the score overflows"},
      {"a customer id twice", header + "C1,1,1,1,a,b,1\nC2,2,2,1,a,b,1\nC1,3,3,1,a,b,1\n", "",
       "customer ids must be unique: 1 id appears more than once (1 extra row), e.g. \"C1\" at "},
      {"a record without an end",
       header + "C1,1,1,1,a,b,\"" + std::string(engine::kMaxRecordBytes + (2 << 20), 'q'), "",
       "no record starts between bytes"},
  };
  int n = 0;
  for (const BadFile& bad : catalogue) {
    const std::string path = dir_.Write(absl::StrCat("data/bad", n++, ".csv"), bad.content);
    v1::JobSpec spec = Good();
    spec.set_inputs(0, path);
    spec.set_split_bytes(1 << 20);
    if (!bad.policy.empty()) Policy(spec, bad.policy);
    auto job = client_->Submit(spec);
    ASSERT_TRUE(job.ok()) << bad.what << ": " << job.status();
    auto done = job->Wait(nullptr, absl::Minutes(1));
    ASSERT_TRUE(done.ok()) << bad.what;
    EXPECT_EQ(done->state(), v1::JOB_STATE_FAILED) << bad.what;
    EXPECT_EQ(done->error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument))
        << bad.what << ": " << done->error();
    EXPECT_THAT(done->error(), HasSubstr(bad.error)) << bad.what;
  }
  // A split size that would cut the input into more splits than allowed.
  v1::JobSpec tiny = Good();
  tiny.set_split_bytes(1);
  auto job = client_->Submit(tiny);
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = job->Wait(nullptr, absl::Minutes(1));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(done->error(), HasSubstr("splits, more than the 1000 allowed (--max-splits)"));

  // A grouping with more groups than allowed.
  v1::JobSpec grouped = Good();
  grouped.mutable_kpis_text()->set_name("kpis.yaml");
  grouped.mutable_kpis_text()->set_text(
      "grouping_sets: [[region, segment, channel]]\nmetrics: [{name: n, agg: count}]\n");
  auto big = client_->Submit(grouped);
  ASSERT_TRUE(big.ok()) << big.status();
  auto finished = big->Wait(nullptr, absl::Minutes(1));
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(finished->error_code(), static_cast<int>(absl::StatusCode::kResourceExhausted))
      << finished->error();
  EXPECT_THAT(finished->error(), HasSubstr("groups, more than the 20 allowed (--max-groups)"));
}

}  // namespace
}  // namespace tierscore

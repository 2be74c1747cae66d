// The token file and the role checks (coordinator/access.h), as logic.
#include "coordinator/access.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFile[] = R"(# who may do what
reader-token-0123456789     reader     dashboards
nightly-token-0123456789    submitter  nightly   customers/nightly,segments/*

admin-token-0123456789      admin      ops
)";

TEST(TokensTest, AuthenticatesByBearerToken) {
  auto tokens = Tokens::Parse(kFile, "tokens.txt");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ((*tokens)->size(), 3u);
  auto nightly = (*tokens)->Authenticate("Bearer nightly-token-0123456789");
  ASSERT_TRUE(nightly.ok());
  EXPECT_EQ(nightly->name, "nightly");
  EXPECT_EQ(nightly->role, Role::kSubmitter);
  EXPECT_THAT(nightly->aliases, ::testing::ElementsAre("customers/nightly", "segments/*"));
  EXPECT_EQ((*tokens)->Authenticate("Bearer admin-token-0123456789")->role, Role::kAdmin);

  for (const char* bad : {"", "Bearer ", "Bearer nightly-token-012345678", "Basic abc",
                          "bearer nightly-token-0123456789", "Bearer nightly-token-01234567890"}) {
    auto refused = (*tokens)->Authenticate(bad);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
}

TEST(TokensTest, MistakesNameTheLineAndNeverTheToken) {
  const struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"short reader a\n", "tokens.txt:1: the token is shorter than 16"},
      {"# c\nsecret-token-0123456789 writer a\n", "tokens.txt:2: role \"writer\" is not one of"},
      {"secret-token-0123456789 reader\n", "tokens.txt:1: expected"},
      {"secret-token-0123456789 reader a\nsecret-token-9876543210 admin a\n",
       "tokens.txt:2: name \"a\" is given twice"},
      {"secret-token-0123456789 reader a\nsecret-token-0123456789 admin b\n",
       "tokens.txt:2: this token is given twice"},
      {"secret-token-0123456789 reader a x/y\n", "tokens.txt:1: aliases are given for submitters"},
      {"secret-token-0123456789 submitter a //\n", "tokens.txt:1: alias:"},
      {"secret-token-0123456789 reader a\tb c d\n", "tokens.txt:1: expected"},
      {"# nothing\n", "tokens.txt: no tokens"},
  };
  for (const auto& c : cases) {
    auto tokens = Tokens::Parse(c.text, "tokens.txt");
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(tokens.status().message(), HasSubstr(c.error)) << c.text;
    EXPECT_THAT(tokens.status().message(), Not(HasSubstr("secret-token"))) << c.text;
  }
  EXPECT_EQ(Tokens::Load("/nonexistent/tokens").status().code(), absl::StatusCode::kNotFound);
}

TEST(AccessTest, RolesAreOrdered) {
  const Caller reader{.name = "r", .role = Role::kReader, .aliases = {}};
  const Caller submitter{.name = "s", .role = Role::kSubmitter, .aliases = {"a/*", "b"}};
  const Caller admin{.name = "o", .role = Role::kAdmin, .aliases = {}};
  EXPECT_TRUE(Require(reader, Role::kReader, "read").ok());
  absl::Status denied = Require(reader, Role::kSubmitter, "submit jobs");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(), "r (reader) may not submit jobs: it needs the submitter role");
  EXPECT_TRUE(Require(submitter, Role::kSubmitter, "submit jobs").ok());
  EXPECT_FALSE(Require(submitter, Role::kAdmin, "x").ok());
  EXPECT_TRUE(Require(admin, Role::kSubmitter, "submit jobs").ok());
}

TEST(AccessTest, SubmittersPublishToTheirAliasesOnly) {
  const Caller reader{.name = "r", .role = Role::kReader, .aliases = {}};
  const Caller submitter{.name = "s", .role = Role::kSubmitter, .aliases = {"a/*", "b"}};
  const Caller admin{.name = "o", .role = Role::kAdmin, .aliases = {}};
  EXPECT_TRUE(RequirePublish(submitter, "a/x").ok());
  EXPECT_TRUE(RequirePublish(submitter, "a/x/y").ok());
  EXPECT_TRUE(RequirePublish(submitter, "b").ok());
  EXPECT_FALSE(RequirePublish(submitter, "a").ok());  // the prefix itself is not under it
  EXPECT_FALSE(RequirePublish(submitter, "ab/x").ok());
  EXPECT_FALSE(RequirePublish(submitter, "b/c").ok());
  EXPECT_THAT(RequirePublish(submitter, "c").message(), HasSubstr("its aliases are a/*, b"));
  EXPECT_FALSE(RequirePublish(reader, "a/x").ok());
  EXPECT_TRUE(RequirePublish(admin, "anything").ok());
}

TEST(AccessTest, JobsAreChangedByTheirOwnerOrAnAdmin) {
  const Caller reader{.name = "s", .role = Role::kReader, .aliases = {}};
  const Caller submitter{.name = "s", .role = Role::kSubmitter, .aliases = {}};
  const Caller admin{.name = "o", .role = Role::kAdmin, .aliases = {}};
  EXPECT_TRUE(RequireOwner(submitter, "s", "job-1", "cancel").ok());
  absl::Status other = RequireOwner(submitter, "t", "job-1", "cancel");
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other.message(), HasSubstr("s may not cancel job job-1: it is t's"));
  EXPECT_FALSE(RequireOwner(submitter, "", "job-1", "cancel").ok());
  EXPECT_FALSE(RequireOwner(reader, "s", "job-1", "cancel").ok());  // owner, but a reader now
  EXPECT_TRUE(RequireOwner(admin, "t", "job-1", "cancel").ok());
}

}  // namespace
}  // namespace tierscore::coordinator

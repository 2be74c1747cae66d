#include "common/redis_client.h"

#include <string>

#include "common/redis_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedisAddressTest, ParsesTheForms) {
  auto a = ParseRedisAddress("redis://:s3cret@cache.local:6380/2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->unix_socket);
  EXPECT_EQ(a->host, "cache.local");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->password, "s3cret");
  EXPECT_EQ(a->db, 2);
  auto d = ParseRedisAddress("redis://localhost");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, 6379);
  EXPECT_EQ(d->db, 0);
  auto v6 = ParseRedisAddress("redis://[::1]:7000/1");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  auto u = ParseRedisAddress("unix:///run/redis.sock?db=3");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->unix_socket);
  EXPECT_EQ(u->path, "/run/redis.sock");
  EXPECT_EQ(u->db, 3);
  for (const char* bad : {"http://x", "redis://:pw@/0", "redis://h:99999", "redis://h:1/x",
                          "unix://relative.sock", "redis://::1:6379"}) {
    auto r = ParseRedisAddress(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr(RedactRedisAddress(bad)));
    EXPECT_THAT(r.status().message(), Not(HasSubstr("pw@")));  // never the password
  }
}

TEST(RedisAddressTest, PasswordsNeverAppearInMessages) {
  for (const char* bad : {"redis//:s3cret@127.0.0.1:1", "redis://:s3c@ret@127.0.0.1:x/0",
                          "rediss://:s3cret@h:1", "redis://:s3cret@h:99999"}) {
    auto r = ParseRedisAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), Not(HasSubstr("s3c"))) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("***@")) << bad;
  }
  auto at = ParseRedisAddress("redis://:p@ss@127.0.0.1:6379/2");
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->password, "p@ss");
  EXPECT_EQ(at->host, "127.0.0.1");
}

TEST(RedisClientTest, AuthDatabaseAndPipelinesOverTcp) {
  testing::TempDir dir;
  auto server = testing::RedisServer::Start(dir.path(), /*tcp=*/true, "pw");
  ASSERT_TRUE(server.ok()) << server.status();
  RedisOptions o;
  o.address = (*server)->address();
  o.address.replace(o.address.size() - 1, 1, "5");  // database 5
  auto client = RedisClient::Create(o);
  ASSERT_TRUE(client.ok());
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 10000; ++i)
    cmds.push_back({"SET", "k" + std::to_string(i), std::to_string(i)});
  cmds.push_back({"GET", "k9999"});
  cmds.push_back({"NOSUCHCOMMAND"});
  auto replies = (*client)->Pipeline(cmds);
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_EQ(replies->at(10000).str, "9999");
  EXPECT_EQ(replies->at(10001).type, RedisReply::Type::kError);  // in place, not a failure
  auto db = (*client)->Command({"CLIENT", "LIST"});
  ASSERT_TRUE(db.ok());
  EXPECT_THAT(db->str, HasSubstr("db=5"));

  RedisOptions wrong = o;
  wrong.address =
      absl::StrCat("redis://:nope@127.0.0.1:", wrong.address.substr(wrong.address.rfind(':') + 1));
  auto denied = (*RedisClient::Create(wrong))->Command({"PING"});
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
}

TEST(RedisClientTest, UnavailableWhileRedisIsDownThenRecoversByItself) {
  testing::TempDir dir;
  auto server = testing::RedisServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  RedisStoreOptions o;
  o.redis.address = (*server)->address();
  o.redis.connect_timeout = absl::Milliseconds(200);
  o.redis.command_timeout = absl::Milliseconds(500);
  auto created = RedisStore::Create(o);
  ASSERT_TRUE(created.ok());
  Store& store = **created;  // through the interface, as callers use it
  ASSERT_TRUE(store.Set("k", "v").ok());

  (*server)->Stop();
  auto down = store.Get("k");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_THAT(down.status().message(), HasSubstr("redis"));
  EXPECT_EQ(store.Set("k", "w").code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE((*server)->Restart().ok());  // an empty server: no persistence
  ASSERT_TRUE(store.Set("k", "back").ok());
  EXPECT_EQ(*store.Get("k"), "back");
}

}  // namespace
}  // namespace tierscore::common

namespace tierscore::common {
namespace {

TEST(RedisErrorStatusTest, ABusyOrLoadingServerIsRetryableOthersAreNot) {
  EXPECT_TRUE(absl::IsUnavailable(
      RedisErrorStatus("GET", "LOADING Redis is loading the dataset in memory")));
  EXPECT_TRUE(
      absl::IsUnavailable(RedisErrorStatus("EVALSHA", "BUSY Redis is busy running a script")));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      RedisErrorStatus("key k", "WRONGTYPE Operation against a key holding the wrong kind")));
  const absl::Status other = RedisErrorStatus("SET", "ERR syntax error");
  EXPECT_TRUE(absl::IsInternal(other));
  EXPECT_EQ(other.message(), "redis: SET: ERR syntax error");
}

}  // namespace
}  // namespace tierscore::common

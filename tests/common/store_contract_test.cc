// One contract for every Store: run against MemoryStore and against
// RedisStore on a real redis-server.
#include <memory>
#include <string>

#include "common/memory_store.h"
#include "common/redis_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::common {
namespace {

struct Backend {
  std::string name;
  // Makes a store; `prefix` distinguishes two stores on the same backend.
  std::function<std::unique_ptr<Store>(const std::string& prefix)> make;
};

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      auto shared = std::make_shared<MemoryStore>();
      // Prefixes are a Redis matter; memory stores are separate objects.
      make_ = [shared](const std::string& prefix) -> std::unique_ptr<Store> {
        if (prefix == "a:") return std::make_unique<Proxy>(shared);
        return std::make_unique<MemoryStore>();
      };
      return;
    }
    auto server = testing::RedisServer::Start(dir_.path());
    ASSERT_TRUE(server.ok()) << server.status();
    redis_ = *std::move(server);
    make_ = [this](const std::string& prefix) -> std::unique_ptr<Store> {
      RedisStoreOptions o;
      o.redis.address = redis_->address();
      o.key_prefix = prefix;
      return *RedisStore::Create(o);
    };
  }

  // Forwards to a shared store (so that "a:" stores see each other).
  class Proxy : public Store {
   public:
    explicit Proxy(std::shared_ptr<Store> s) : s_(std::move(s)) {}
    absl::StatusOr<std::optional<std::string>> Get(const std::string& k) override {
      return s_->Get(k);
    }
    absl::Status Set(const std::string& k, const std::string& v, absl::Duration t) override {
      return s_->Set(k, v, t);
    }
    absl::StatusOr<bool> CompareAndSet(const std::string& k, const std::optional<std::string>& e,
                                       const std::string& v) override {
      return s_->CompareAndSet(k, e, v);
    }
    absl::Status Delete(const std::vector<std::string>& k) override { return s_->Delete(k); }
    absl::Status Expire(const std::string& k, absl::Duration t) override {
      return s_->Expire(k, t);
    }
    absl::Status ExpireMany(const std::vector<std::string>& k, absl::Duration t) override {
      return s_->ExpireMany(k, t);
    }
    absl::Status PersistMany(const std::vector<std::string>& k) override {
      return s_->PersistMany(k);
    }
    absl::Status HashSet(const std::vector<HashField>& f) override { return s_->HashSet(f); }
    absl::Status RenameMany(const std::vector<std::pair<std::string, std::string>>& p) override {
      return s_->RenameMany(p);
    }
    absl::Status HashDelete(const std::vector<std::pair<std::string, std::string>>& f) override {
      return s_->HashDelete(f);
    }
    absl::StatusOr<std::vector<Fields>> HashGetAllMany(const std::vector<std::string>& k) override {
      return s_->HashGetAllMany(k);
    }
    absl::StatusOr<std::vector<std::optional<std::string>>> HashGet(
        const std::vector<std::pair<std::string, std::string>>& kf) override {
      return s_->HashGet(kf);
    }

   private:
    std::shared_ptr<Store> s_;
  };

  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::function<std::unique_ptr<Store>(const std::string&)> make_;
};

TEST_P(StoreContractTest, StringsRoundTripIncludingBinaryValues) {
  auto store = make_("a:");
  EXPECT_EQ(*store->Get("missing"), std::nullopt);
  const std::string binary("va\0lue\n\xff", 8);
  ASSERT_TRUE(store->Set("k", binary).ok());
  EXPECT_EQ(*store->Get("k"), binary);
  ASSERT_TRUE(store->Set("k", "replaced").ok());
  EXPECT_EQ(*store->Get("k"), "replaced");
  ASSERT_TRUE(store->Delete({"k", "never-existed"}).ok());
  EXPECT_EQ(*store->Get("k"), std::nullopt);
  EXPECT_TRUE(store->Delete({}).ok());
}

TEST_P(StoreContractTest, CompareAndSetWritesOnlyOverTheExpectedValue) {
  auto store = make_("a:");
  EXPECT_FALSE(*store->CompareAndSet("k", "old", "new"));  // missing, but "old" expected
  EXPECT_EQ(*store->Get("k"), std::nullopt);
  EXPECT_TRUE(*store->CompareAndSet("k", std::nullopt, "first"));
  EXPECT_FALSE(*store->CompareAndSet("k", std::nullopt, "second"));  // exists now
  EXPECT_FALSE(*store->CompareAndSet("k", "other", "second"));
  EXPECT_EQ(*store->Get("k"), "first");
  EXPECT_TRUE(*store->CompareAndSet("k", "first", "second"));
  EXPECT_EQ(*store->Get("k"), "second");
  // An empty value is a value, not "missing".
  EXPECT_TRUE(*store->CompareAndSet("k", "second", ""));
  EXPECT_FALSE(*store->CompareAndSet("k", std::nullopt, "x"));
  EXPECT_TRUE(*store->CompareAndSet("k", "", "x"));
  // The key stays: no time to live is left from an earlier Set.
  ASSERT_TRUE(store->Set("t", "v", absl::Milliseconds(50)).ok());
  EXPECT_TRUE(*store->CompareAndSet("t", "v", "w"));
  absl::SleepFor(absl::Milliseconds(120));
  EXPECT_EQ(*store->Get("t"), "w");
  ASSERT_TRUE(store->HashSet({{"h", "f", "v"}}).ok());
  EXPECT_EQ(store->CompareAndSet("h", std::nullopt, "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(StoreContractTest, KeysExpire) {
  auto store = make_("a:");
  ASSERT_TRUE(store->Set("short", "x", absl::Milliseconds(100)).ok());
  ASSERT_TRUE(store->Set("long", "y").ok());
  ASSERT_TRUE(store->Expire("long", absl::Milliseconds(100)).ok());
  ASSERT_TRUE(store->Set("kept", "z").ok());
  EXPECT_EQ(*store->Get("short"), "x");
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(*store->Get("short"), std::nullopt);
  EXPECT_EQ(*store->Get("long"), std::nullopt);
  EXPECT_EQ(*store->Get("kept"), "z");
  EXPECT_EQ(store->Expire("short", absl::Seconds(1)).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store->Set("m1", "1").ok());
  ASSERT_TRUE(store->HashSet({{"m2", "f", "2"}}).ok());
  ASSERT_TRUE(store->HashSet({{"p1", "f", "3"}}).ok());
  ASSERT_TRUE(store->ExpireMany({"m1", "m2", "p1", "never-existed"}, absl::Milliseconds(100)).ok());
  ASSERT_TRUE(store->PersistMany({"p1", "never-existed"}).ok());  // p1 stays after all
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(*store->Get("m1"), std::nullopt);
  EXPECT_EQ((*store->HashGet({{"p1", "f"}}))[0], "3");
  EXPECT_EQ((*store->HashGet({{"m2", "f"}}))[0], std::nullopt);
  EXPECT_EQ(store->Set("bad", "x", absl::ZeroDuration()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, HashFieldsAreDeletedManyAtOnce) {
  auto store = make_("d:");
  std::vector<Store::HashField> fields;
  for (int i = 0; i < 1200; ++i) fields.push_back({"h", "f" + std::to_string(i), "v"});
  fields.push_back({"g", "only", "v"});
  ASSERT_TRUE(store->HashSet(fields).ok());
  std::vector<std::pair<std::string, std::string>> gone;
  for (int i = 0; i < 1100; ++i) gone.emplace_back("h", "f" + std::to_string(i));
  gone.emplace_back("h", "never-set");
  gone.emplace_back("no-such-hash", "f");
  gone.emplace_back("g", "only");
  ASSERT_TRUE(store->HashDelete(gone).ok());
  auto left = store->HashGetAll("h");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 100u);
  EXPECT_TRUE(store->HashGetAll("g")->empty());
  EXPECT_FALSE(store->Get("g")->has_value());
  ASSERT_TRUE(store->Set("plain", "x").ok());
  EXPECT_FALSE(store->HashDelete({{"plain", "f"}}).ok());  // a string is not a hash
}

TEST_P(StoreContractTest, HashesManyFieldsInOneCall) {
  auto store = make_("a:");
  std::vector<Store::HashField> fields;
  for (int b = 0; b < 7; ++b) {
    for (int i = 0; i < 1500; ++i) {  // more than one HSET per key
      fields.push_back(
          {"bucket:" + std::to_string(b), "id" + std::to_string(i), std::to_string(b * 10000 + i)});
    }
  }
  ASSERT_TRUE(store->HashSet(fields).ok());
  auto got = store->HashGet(
      {{"bucket:3", "id1499"}, {"bucket:0", "id0"}, {"bucket:3", "nope"}, {"no-such-hash", "id0"}});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0], "31499");
  EXPECT_EQ((*got)[1], "0");
  EXPECT_EQ((*got)[2], std::nullopt);
  EXPECT_EQ((*got)[3], std::nullopt);
  auto all = store->HashGetAll("bucket:6");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1500u);
  EXPECT_EQ((*all)[0], std::make_pair(std::string("id0"), std::string("60000")));
  EXPECT_TRUE(store->HashGetAll("no-such-hash")->empty());
  // Runs of the same key (read with one command by Redis), a string key
  // among hashes, and many hashes at once.
  ASSERT_TRUE(store->Set("plain", "x").ok());
  auto runs = store->HashGet({{"bucket:1", "id0"},
                              {"bucket:1", "id1"},
                              {"bucket:1", "nope"},
                              {"plain", "id0"},
                              {"bucket:2", "id2"},
                              {"bucket:2", "id3"}});
  ASSERT_TRUE(runs.ok()) << runs.status();
  const std::vector<std::optional<std::string>> want = {"10000",      "10001", std::nullopt,
                                                        std::nullopt, "20002", "20003"};
  EXPECT_EQ(*runs, want);
  auto many = store->HashGetAllMany({"bucket:5", "no-such-hash", "plain", "bucket:6"});
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), 4u);
  EXPECT_EQ((*many)[0].size(), 1500u);
  EXPECT_EQ((*many)[0][1], std::make_pair(std::string("id1"), std::string("50001")));
  EXPECT_TRUE((*many)[1].empty());
  EXPECT_TRUE((*many)[2].empty());
  EXPECT_EQ((*many)[3], *all);
  ASSERT_TRUE(store->HashSet({{"bucket:3", "id1499", "new"}}).ok());
  EXPECT_EQ((*store->HashGet({{"bucket:3", "id1499"}}))[0], "new");
  ASSERT_TRUE(store->Expire("bucket:3", absl::Milliseconds(100)).ok());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ((*store->HashGet({{"bucket:3", "id0"}}))[0], std::nullopt);
  EXPECT_EQ((*store->HashGet({{"bucket:2", "id0"}}))[0], "20000");
}

TEST_P(StoreContractTest, RenamingMovesValueAndTimeToLiveAndReplacesTheTarget) {
  auto store = make_("a:");
  ASSERT_TRUE(store->HashSet({{"from1", "f", "1"}, {"from1", "g", "2"}, {"from2", "f", "3"}}).ok());
  ASSERT_TRUE(store->HashSet({{"to1", "old", "x"}}).ok());
  ASSERT_TRUE(store->Set("s", "v").ok());
  ASSERT_TRUE(store->Expire("from2", absl::Milliseconds(100)).ok());
  ASSERT_TRUE(
      store->RenameMany({{"from1", "to1"}, {"from2", "to2"}, {"missing", "to3"}, {"s", "s2"}})
          .ok());
  EXPECT_TRUE(store->HashGetAll("from1")->empty());
  EXPECT_EQ(*store->HashGetAll("to1"), (Store::Fields{{"f", "1"}, {"g", "2"}}));  // replaced
  EXPECT_EQ((*store->HashGet({{"to2", "f"}}))[0], "3");
  EXPECT_EQ(*store->Get("s2"), "v");
  EXPECT_EQ(*store->Get("s"), std::nullopt);
  EXPECT_EQ(*store->Get("to3"), std::nullopt);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(store->HashGetAll("to2")->empty());  // the time to live came along
  EXPECT_EQ(store->HashGetAll("to1")->size(), 2u);
}

TEST_P(StoreContractTest, WrongTypeIsAFailedPrecondition) {
  auto store = make_("a:");
  ASSERT_TRUE(store->Set("s", "x").ok());
  ASSERT_TRUE(store->HashSet({{"h", "f", "v"}}).ok());
  EXPECT_EQ(store->Get("h").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->HashSet({{"s", "f", "v"}}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store->HashGet({{"s", "f"}}))[0], std::nullopt);
}

TEST_P(StoreContractTest, StoresWithOtherPrefixesDoNotSeeEachOther) {
  auto a = make_("a:");
  auto b = make_("b:");
  ASSERT_TRUE(a->Set("k", "from a").ok());
  EXPECT_EQ(*b->Get("k"), std::nullopt);
  auto a2 = make_("a:");
  EXPECT_EQ(*a2->Get("k"), "from a");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("memory", "redis"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tierscore::common

// Input confinement (common/data_roots.h) on a real file system: paths
// outside the roots, through "..", through links out of a root, devices and
// directories are refused, and a refusal outside says nothing about whether
// the file exists.
#include "common/data_roots.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::common {
namespace {

using ::testing::HasSubstr;

class DataRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/data";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/sub").c_str(), 0755), 0);
    inside_ = dir_.Write("data/sub/customers.csv", "customer_id\nA\n");
    outside_ = dir_.Write("secret.csv", "password\nhunter2\n");
    ASSERT_EQ(symlink(outside_.c_str(), (root_ + "/escape.csv").c_str()), 0);
    ASSERT_EQ(symlink((dir_.path()).c_str(), (root_ + "/up").c_str()), 0);
    ASSERT_EQ(symlink(inside_.c_str(), (root_ + "/alias.csv").c_str()), 0);
    ASSERT_EQ(symlink("/nonexistent/target", (root_ + "/dangling.csv").c_str()), 0);
    auto roots = DataRoots::Create({root_});
    ASSERT_TRUE(roots.ok()) << roots.status();
    roots_ = *std::move(roots);
  }

  absl::StatusCode Code(const std::string& path) const {
    return roots_.Check(path, "inputs[0]").code();
  }

  testing::TempDir dir_;
  std::string root_, inside_, outside_;
  DataRoots roots_;
};

TEST_F(DataRootsTest, FilesUnderARootAreAllowed) {
  EXPECT_TRUE(roots_.Check(inside_, "inputs[0]").ok());
  EXPECT_TRUE(roots_.Check(root_ + "/alias.csv", "f").ok());  // a link that stays inside
  EXPECT_EQ(Code(root_ + "/sub/missing.csv"), absl::StatusCode::kNotFound);
}

TEST_F(DataRootsTest, EscapesAreRefused) {
  for (const std::string& path :
       {outside_, root_ + "/../secret.csv", root_ + "/sub/../../secret.csv", root_ + "/./sub",
        root_ + "/escape.csv", root_ + "/up/secret.csv", root_ + "/dangling.csv",
        root_ + "x/customers.csv", std::string("/etc/passwd"), std::string("relative.csv"),
        std::string("")}) {
    EXPECT_EQ(Code(path), absl::StatusCode::kPermissionDenied) << path;
  }
  EXPECT_THAT(roots_.Check(outside_, "inputs[2]").message(),
              HasSubstr("inputs[2]: \"" + outside_ + "\" is outside the data roots"));
}

TEST_F(DataRootsTest, ARefusalOutsideSaysNothingAboutExistence) {
  const std::string missing = dir_.path() + "/no-such.csv";
  EXPECT_EQ(roots_.Check(outside_, "f").code(), roots_.Check(missing, "f").code());
  const std::string exists = std::string(roots_.Check(outside_, "f").message());
  const std::string absent = std::string(roots_.Check(missing, "f").message());
  EXPECT_EQ(exists.substr(exists.find("\" is")), absent.substr(absent.find("\" is")));
}

TEST_F(DataRootsTest, OnlyRegularFiles) {
  EXPECT_EQ(Code(root_ + "/sub"), absl::StatusCode::kPermissionDenied);
  const absl::Status root = roots_.Check(root_, "inputs[0]");
  EXPECT_EQ(root.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(root.message(), HasSubstr("is a data root, not a file"));
  EXPECT_THAT(roots_.Check(root_ + "/", "inputs[0]").message(),
              HasSubstr("is a data root, not a file"));
  auto dev = DataRoots::Create({"/dev"});
  ASSERT_TRUE(dev.ok());
  absl::Status null = dev->Check("/dev/null", "inputs[0]");
  EXPECT_EQ(null.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(null.message(), HasSubstr("is not a regular file"));
}

TEST_F(DataRootsTest, LexicalChecksTouchNoFiles) {
  EXPECT_TRUE(roots_.CheckLexically(root_ + "/sub/missing.csv", "f").ok());
  EXPECT_TRUE(roots_.CheckLexically(root_ + "/escape.csv", "f").ok());  // only Check sees links
  EXPECT_EQ(roots_.CheckLexically(outside_, "f").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(roots_.CheckLexically(root_ + "/../secret.csv", "f").code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(DataRootsCreateTest, RootsMustBeDirectories) {
  EXPECT_TRUE(DataRoots().Check("/etc/passwd", "f").ok());  // unconfined
  EXPECT_FALSE(DataRoots().confined());
  for (const std::string root : {"relative", "/nonexistent/dir", "/etc/passwd", ""}) {
    auto roots = DataRoots::Create({root});
    EXPECT_EQ(roots.status().code(), absl::StatusCode::kInvalidArgument) << root;
    EXPECT_THAT(roots.status().message(), HasSubstr("data-root:"));
  }
}

}  // namespace
}  // namespace tierscore::common

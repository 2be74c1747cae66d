#include "common/files.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::common {
namespace {

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFileTest, ReplacesTheFileWholeAndLeavesNothingBehind) {
  testing::TempDir dir;
  const std::string out = dir.Write("out.csv", "old\n");
  auto file = AtomicFile::Create(out);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->Append("new\n").ok());
  EXPECT_EQ(testing::TempDir::Read(out), "old\n");  // readers see the old file until Commit
  ASSERT_TRUE((*file)->Commit().ok());
  EXPECT_EQ(testing::TempDir::Read(out), "new\n");
  EXPECT_THAT(Names(dir.path()), ::testing::ElementsAre("out.csv"));
  struct stat st;
  ASSERT_EQ(stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // Abandoned: the old file stays, the temporary goes.
  auto abandoned = AtomicFile::Create(out);
  ASSERT_TRUE((*abandoned)->Append("half").ok());
  abandoned->reset();
  EXPECT_EQ(testing::TempDir::Read(out), "new\n");
  EXPECT_THAT(Names(dir.path()), ::testing::ElementsAre("out.csv"));
}

TEST(AtomicFileTest, APlantedLinkIsNeverFollowed) {
  testing::TempDir dir;
  const std::string victim = dir.Write("victim", "precious\n");
  const std::string out = dir.path() + "/out.csv";
  // Links where a predictable temporary would be.
  ASSERT_EQ(symlink(victim.c_str(), (out + ".tmp").c_str()), 0);
  ASSERT_EQ(symlink(victim.c_str(), (dir.path() + "/.out.csv.tmp").c_str()), 0);
  auto file = AtomicFile::Create(out);
  ASSERT_TRUE(file.ok()) << file.status();
  struct stat st;
  ASSERT_EQ(lstat((*file)->temporary_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_TRUE((*file)->Append("results\n").ok());
  ASSERT_TRUE((*file)->Commit().ok());
  EXPECT_EQ(testing::TempDir::Read(victim), "precious\n");
  EXPECT_EQ(testing::TempDir::Read(out), "results\n");
}

TEST(AtomicFileTest, ASignalRemovesTheTemporary) {
  testing::TempDir dir;
  const std::string out = dir.path() + "/out.csv";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    InstallTemporaryFileCleanup();
    auto file = AtomicFile::Create(out);
    if (!file.ok() || !(*file)->Append("partial").ok()) _exit(3);
    raise(SIGTERM);
    _exit(4);  // not reached: the signal ends the process
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_THAT(Names(dir.path()), ::testing::IsEmpty());
}

TEST(AtomicFileTest, ErrorsSayWhatAndWhere) {
  testing::TempDir dir;
  auto missing = AtomicFile::Create(dir.path() + "/no/such/out.csv");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("no/such/out.csv"));
  EXPECT_EQ(CheckWritable(dir.path(), "--out").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(CheckWritable(dir.path() + "/x/y.csv", "--out").message(),
              ::testing::HasSubstr("--out: directory"));
  EXPECT_TRUE(CheckWritable(dir.path() + "/y.csv", "--out").ok());
}

}  // namespace
}  // namespace tierscore::common

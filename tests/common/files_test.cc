#include "common/files.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

TEST(AtomicFileTest, ADevicePipeOrLinkAtThePathIsNeverReplaced) {
  testing::TempDir dir;
  const std::string real = dir.Write("real.csv", "kept\n");
  const std::string link = dir.path() + "/link.csv", pipe = dir.path() + "/pipe.csv";
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  ASSERT_EQ(mkfifo(pipe.c_str(), 0600), 0);
  for (const auto& [path, kind] : std::vector<std::pair<std::string, std::string>>{
           {link, "a symbolic link"}, {pipe, "a pipe"}, {"/dev/null", "a device"}}) {
    EXPECT_THAT(
        CheckWritable(path, "--out").message(),
        ::testing::HasSubstr(absl::StrCat("--out: ", path, " is ", kind, ", not a regular file")));
    auto file = AtomicFile::Create(path);
    ASSERT_FALSE(file.ok()) << path;
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  }
  // Made a link between Create and Commit: still not replaced.
  const std::string late = dir.path() + "/late.csv";
  auto file = AtomicFile::Create(late);
  ASSERT_TRUE(file.ok());
  ASSERT_EQ(symlink(real.c_str(), late.c_str()), 0);
  ASSERT_TRUE((*file)->Append("x\n").ok());
  EXPECT_EQ((*file)->Commit().code(), absl::StatusCode::kInvalidArgument);
  struct stat st;
  ASSERT_EQ(lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(lstat(pipe.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(lstat(late.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(testing::TempDir::Read(real), "kept\n");
  EXPECT_THAT(Names(dir.path()),
              ::testing::UnorderedElementsAre("real.csv", "link.csv", "pipe.csv", "late.csv"));
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

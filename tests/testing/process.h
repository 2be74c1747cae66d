#ifndef TIERSCORE_TESTS_TESTING_PROCESS_H_
#define TIERSCORE_TESTS_TESTING_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tierscore::testing {

// A child process for tests. The destructor resumes and kills it and reaps
// it, so no process outlives its test, whatever the test's outcome.
class ChildProcess {
 public:
  // `stderr_path`, when given, receives the child's standard error.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const std::string& stderr_path = "") {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      if (!stderr_path.empty()) {
        const int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 2) < 0) _exit(126);
      }
      execv(args[0], args.data());
      _exit(127);
    }
    return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
  }

  ~ChildProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }

  pid_t pid() const { return pid_; }
  // Waits for the child to exit (up to `timeout`); its exit code, or -1.
  int Wait(absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    while (absl::Now() < give_up) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }
  void Signal(int sig) const { kill(pid_, sig); }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

// A finished command: its exit code (-1: killed or timed out) and output.
struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to its end (at most `timeout`) with `env` added to this
// process's environment, stdout and stderr captured through files in `dir`.
inline CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& dir,
                                const std::vector<std::string>& env = {},
                                absl::Duration timeout = absl::Minutes(2)) {
  static int n = 0;
  const std::string out_path = absl::StrCat(dir, "/cmd-", getpid(), "-", ++n, ".out");
  const std::string err_path = out_path + ".err";
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) vars.emplace_back(*e);
  vars.insert(vars.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  CommandResult result;
  const pid_t pid = fork();
  if (pid < 0) return result;
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  const absl::Time give_up = absl::Now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (absl::Now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (status != -1 && WIFEXITED(status)) result.code = WEXITSTATUS(status);
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  result.out = read(out_path);
  result.err = read(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

// Waits for a port file written by a server (`--port-file`).
inline absl::StatusOr<int> WaitForPortFile(const std::string& path, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    int port = 0;
    if (!s.empty() && std::from_chars(s.data(), s.data() + s.size(), port).ec == std::errc() &&
        port > 0) {
      return port;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("no port in ", path));
}

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_PROCESS_H_

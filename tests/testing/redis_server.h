#ifndef TIERSCORE_TESTS_TESTING_REDIS_SERVER_H_
#define TIERSCORE_TESTS_TESTING_REDIS_SERVER_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/process.h"

namespace tierscore::testing {

// A real redis-server for tests, on a unix socket in `dir` (or, with
// `tcp`, on a free loopback port). Stopped with the object.
class RedisServer {
 public:
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const std::string& dir,
                                                            bool tcp = false,
                                                            const std::string& password = "") {
    std::unique_ptr<RedisServer> s(new RedisServer(dir, tcp, password));
    if (tcp) {
      // A port the kernel just handed out; free again once closed.
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                         getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
      s->port_ = ntohs(addr.sin_port);
      close(fd);
      if (!bound) return absl::InternalError("cannot pick a free loopback port");
    }
    absl::Status st = s->Launch();
    if (!st.ok()) return st;
    return s;
  }

  // The address for RedisOptions, with the password in it if there is one.
  std::string address() const {
    const std::string auth = password_.empty() ? "" : absl::StrCat(":", password_, "@");
    return tcp_ ? absl::StrCat("redis://", auth, "127.0.0.1:", port_, "/0")
                : absl::StrCat("unix://", auth, socket_);
  }
  // The address without the password (the binaries take it apart).
  std::string bare_address() const {
    return tcp_ ? absl::StrCat("redis://127.0.0.1:", port_, "/0")
                : absl::StrCat("unix://", socket_);
  }

  void Stop() { process_.reset(); }
  // SIGSTOP: the server holds its connections and answers nothing.
  void Pause() { process_->Signal(SIGSTOP); }
  void Resume() { process_->Signal(SIGCONT); }
  absl::Status Restart() {
    Stop();
    return Launch();
  }

 private:
  RedisServer(std::string dir, bool tcp, std::string password)
      : dir_(std::move(dir)),
        socket_(dir_ + "/redis.sock"),
        tcp_(tcp),
        password_(std::move(password)) {}

  absl::Status Launch() {
    unlink(socket_.c_str());
    std::vector<std::string> argv = {
        "/usr/bin/redis-server", "--save", "",           "--appendonly", "no", "--dir", dir_,
        "--daemonize",           "no",     "--loglevel", "warning"};
    if (tcp_) {
      argv.insert(argv.end(), {"--port", std::to_string(port_), "--bind", "127.0.0.1"});
    } else {
      argv.insert(argv.end(), {"--port", "0", "--unixsocket", socket_, "--unixsocketperm", "700"});
    }
    if (!password_.empty()) argv.insert(argv.end(), {"--requirepass", password_});
    auto child = ChildProcess::Start(argv);
    if (!child.ok()) return child.status();
    process_ = *std::move(child);
    // Ready when it accepts a connection.
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up) {
      if (Accepts()) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::DeadlineExceededError("redis-server did not start");
  }

  bool Accepts() const {
    int fd;
    bool ok;
    if (tcp_) {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    } else {
      fd = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      socket_.copy(addr.sun_path, sizeof addr.sun_path - 1);
      ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    close(fd);
    return ok;
  }

  const std::string dir_;
  const std::string socket_;
  const bool tcp_;
  const std::string password_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_REDIS_SERVER_H_

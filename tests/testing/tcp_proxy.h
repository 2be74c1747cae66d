#ifndef TIERSCORE_TESTS_TESTING_TCP_PROXY_H_
#define TIERSCORE_TESTS_TESTING_TCP_PROXY_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tierscore::testing {

// A TCP proxy on 127.0.0.1:0 to 127.0.0.1:`target_port` that drops its
// first connection (both directions, at once) once the client has sent
// `cut_after` bytes through it (-1: never), or when the test calls Cut: a
// connection that fails mid-call. Later connections pass untouched.
class TcpProxy {
 public:
  TcpProxy(int target_port, int64_t cut_after) : target_(target_port), cut_after_(cut_after) {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_, 16) != 0) {
      std::abort();  // a test machine without loopback: nothing to test
    }
    socklen_t len = sizeof addr;
    getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accepter_ = std::thread([this] { Accept(); });
  }

  ~TcpProxy() {
    stop_ = true;
    shutdown(listen_, SHUT_RDWR);
    accepter_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) close(fd);
    close(listen_);
  }

  int port() const { return port_; }
  int cuts() const { return cuts_; }

  // Drops every connection open now.
  void Cut() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    ++cuts_;
  }

 private:
  void Accept() {
    int n = 0;
    while (!stop_) {
      const int client = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;
      const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(target_));
      if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(client);
        close(server);
        continue;
      }
      const bool first = n++ == 0;
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(client);
      fds_.push_back(server);
      pumps_.emplace_back(
          [this, client, server, first] { Pump(client, server, first ? cut_after_ : -1); });
      pumps_.emplace_back([this, client, server] { Pump(server, client, -1); });
    }
  }

  // Copies from -> to; past `limit` bytes (>= 0) drops both sockets.
  void Pump(int from, int to, int64_t limit) {
    char buf[16384];
    int64_t total = 0;
    while (true) {
      const ssize_t n = read(from, buf, sizeof buf);
      if (n <= 0) break;
      total += n;
      if (limit >= 0 && total > limit) {
        ++cuts_;
        break;
      }
      // MSG_NOSIGNAL: the other pump may have shut `to` down after a cut,
      // and a write would then kill the test with SIGPIPE.
      if (send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    shutdown(from, SHUT_RDWR);
    shutdown(to, SHUT_RDWR);
  }

  const int target_;
  const int64_t cut_after_;
  int listen_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> cuts_{0};
  std::thread accepter_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
};

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_TCP_PROXY_H_

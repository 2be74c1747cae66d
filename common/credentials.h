#ifndef TIERSCORE_COMMON_CREDENTIALS_H_
#define TIERSCORE_COMMON_CREDENTIALS_H_

// The one place where tierscore's gRPC servers and channels get their
// credentials: TLS from PEM files that are re-read while serving, or
// plaintext when the configuration says so explicitly.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace tierscore::common {

// An endpoint's TLS material. The files are watched: a renewed certificate
// is used for new connections within `reload` (replace key and certificate
// together, e.g. by renaming a directory or a symlink, as Kubernetes does
// with mounted Secrets).
struct TlsFiles {
  std::string cert{};  // certificate chain this side presents (PEM)
  std::string key{};   // its private key (PEM)
  std::string ca{};    // CA bundle the peer's certificate must chain to (PEM)
  absl::Duration reload = absl::Seconds(10);
  // How errors name the settings: the binaries' flags (common/tls_flags.h)
  // or, by default, the option names.
  struct Names {
    std::string cert = "tls-cert";
    std::string key = "tls-key";
    std::string ca = "tls-ca";
    std::string insecure = "insecure";
  };
  Names names{};

  bool empty() const { return cert.empty() && key.empty() && ca.empty(); }
};

// How a server authenticates itself and its clients.
struct ServerTls {
  bool insecure = false;  // plaintext; must be asked for, never a fallback
  TlsFiles files;         // cert and key required; ca: the clients' CA
  // Clients must present a certificate chaining to files.ca (mutual TLS).
  bool require_client_cert = false;
  // With require_client_cert: the name (a DNS SAN or the common name) the
  // client's certificate must carry; empty: any certificate of the CA.
  std::string client_name{};

  static ServerTls Plaintext() {
    ServerTls tls;
    tls.insecure = true;
    return tls;
  }
};

// How a channel authenticates the server, and itself with files.cert/key.
struct ChannelTls {
  bool insecure = false;  // plaintext; must be asked for, never a fallback
  TlsFiles files;         // ca required; cert and key for mutual TLS
  // The name the server's certificate must carry when it is not the
  // target's host (workers are dialled by IP address); empty: the host.
  std::string server_name{};

  static ChannelTls Plaintext() {
    ChannelTls tls;
    tls.insecure = true;
    return tls;
  }
};

// INVALID_ARGUMENT naming `what` and the flag-like field when neither TLS
// nor `insecure` is configured, when both are, or when a file is missing,
// unreadable or holds no PEM block of the expected kind.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTls& tls, const std::string& what);

// The same checks for a channel. When `server_name` is set, `args` gets the
// target name override that makes the handshake check it.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ChannelTls& tls, const std::string& what, grpc::ChannelArguments* args);

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_CREDENTIALS_H_

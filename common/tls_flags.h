#ifndef TIERSCORE_COMMON_TLS_FLAGS_H_
#define TIERSCORE_COMMON_TLS_FLAGS_H_

// The TLS flags of the binaries (their mains only), so that every binary
// spells and documents them alike.

#include <string>

#include "CLI/CLI.hpp"
#include "common/credentials.h"

namespace tierscore::common {

// --tls-cert, --tls-key, --tls-client-ca and --insecure for a server.
inline void AddServerTlsFlags(CLI::App& app, ServerTls* tls, const std::string& client_ca_help) {
  app.add_option("--tls-cert", tls->files.cert, "PEM certificate chain to serve with")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls->files.key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", tls->files.ca, client_ca_help)->check(CLI::ExistingFile);
  app.add_flag("--insecure", tls->insecure,
               "Serve and dial plaintext (no TLS); required when no certificate is given");
  tls->files.names = {"--tls-cert", "--tls-key", "--tls-client-ca", "--insecure"};
}

// For a channel: --<prefix>tls-ca, --<prefix>tls-cert, --<prefix>tls-key and
// --<prefix>tls-server-name.
inline void AddChannelTlsFlags(CLI::App& app, ChannelTls* tls, const std::string& prefix,
                               const std::string& peer) {
  app.add_option("--" + prefix + "tls-ca", tls->files.ca,
                 "PEM CA bundle that " + peer + "'s certificate must chain to")
      ->check(CLI::ExistingFile);
  app.add_option("--" + prefix + "tls-cert", tls->files.cert,
                 "PEM client certificate to present to " + peer + " (mutual TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--" + prefix + "tls-key", tls->files.key,
                 "PEM private key of --" + prefix + "tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--" + prefix + "tls-server-name", tls->server_name,
                 "Name " + peer + "'s certificate must carry, when not the address's host");
  tls->files.names = {"--" + prefix + "tls-cert", "--" + prefix + "tls-key",
                      "--" + prefix + "tls-ca", "--insecure"};
}

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_TLS_FLAGS_H_

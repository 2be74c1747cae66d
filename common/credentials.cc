#include "common/credentials.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/channel_arguments.h"

namespace tierscore::common {
namespace {

using grpc::experimental::FileWatcherCertificateProvider;

// The file at `path` (named by `field`) holds a PEM block containing
// `marker`. Checked up front: gRPC's watcher would only log and fail every
// handshake.
absl::Status CheckPem(const std::string& what, const std::string& field, const std::string& path,
                      const std::string& marker) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {  // a missing file, as every other missing file: NOT_FOUND
    return absl::NotFoundError(absl::StrCat(what, ": ", field, ": cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (!absl::StrContains(text.str(), marker)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", field, ": ", path, " holds no PEM \"", marker, "\" block"));
  }
  return absl::OkStatus();
}

absl::Status CheckFiles(const std::string& what, const TlsFiles& files, bool need_identity,
                        bool need_ca) {
  if (need_identity && (files.cert.empty() || files.key.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", files.names.cert, " and ", files.names.key, " are both required"));
  }
  if (need_ca && files.ca.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", files.names.ca, " is required"));
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", files.names.cert, " and ", files.names.key, " go together"));
  }
  if (!files.cert.empty()) {
    if (absl::Status st = CheckPem(what, files.names.cert, files.cert, "BEGIN CERTIFICATE");
        !st.ok()) {
      return st;
    }
    if (absl::Status st = CheckPem(what, files.names.key, files.key, "PRIVATE KEY"); !st.ok())
      return st;
  }
  if (!files.ca.empty()) {
    if (absl::Status st = CheckPem(what, files.names.ca, files.ca, "BEGIN CERTIFICATE"); !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckChoice(const std::string& what, bool insecure, const TlsFiles& files) {
  if (insecure && !files.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": TLS files and ", files.names.insecure,
                                                   " (plaintext) exclude each other"));
  }
  if (!insecure && files.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": no TLS certificate given (", files.names.cert, ", ", files.names.ca,
                     "); give one, or ask for plaintext with ", files.names.insecure));
  }
  return absl::OkStatus();
}

std::shared_ptr<FileWatcherCertificateProvider> Watch(const TlsFiles& files) {
  const auto seconds =
      static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(files.reload)));
  return std::make_shared<FileWatcherCertificateProvider>(files.key, files.cert, files.ca, seconds);
}

// Refuses calls from a client whose certificate does not carry `name`.
// The peer's names come from the handshake, so the check is per connection
// and cheap: it runs inline.
class ClientNameCheck : public grpc::AuthMetadataProcessor {
 public:
  explicit ClientNameCheck(std::string name) : name_(std::move(name)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata&, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    for (const char* property : {"x509_subject_alternative_name", "x509_common_name"}) {
      for (const grpc::string_ref& value : context->FindPropertyValues(property)) {
        if (std::string(value.data(), value.size()) == name_) return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "this server accepts calls only from its coordinator's certificate");
  }

 private:
  const std::string name_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTls& tls, const std::string& what) {
  if (absl::Status st = CheckChoice(what, tls.insecure, tls.files); !st.ok()) return st;
  if (tls.insecure) return grpc::InsecureServerCredentials();
  if (absl::Status st = CheckFiles(what, tls.files, /*need_identity=*/true,
                                   /*need_ca=*/tls.require_client_cert);
      !st.ok()) {
    return st;
  }
  if (!tls.client_name.empty() && !tls.require_client_cert) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": a client name is checked only with client certificates required"));
  }
  grpc::experimental::TlsServerCredentialsOptions options(Watch(tls.files));
  options.watch_identity_key_cert_pairs();
  if (!tls.files.ca.empty()) options.watch_root_certs();
  options.set_cert_request_type(tls.require_client_cert
                                    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(options);
  if (!tls.client_name.empty()) {
    credentials->SetAuthMetadataProcessor(std::make_shared<ClientNameCheck>(tls.client_name));
  }
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ChannelTls& tls, const std::string& what, grpc::ChannelArguments* args) {
  if (absl::Status st = CheckChoice(what, tls.insecure, tls.files); !st.ok()) return st;
  if (tls.insecure) return grpc::InsecureChannelCredentials();
  if (absl::Status st = CheckFiles(what, tls.files, /*need_identity=*/false, /*need_ca=*/true);
      !st.ok()) {
    return st;
  }
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Watch(tls.files));
  options.watch_root_certs();
  if (!tls.files.cert.empty()) options.watch_identity_key_cert_pairs();
  if (!tls.server_name.empty()) args->SetSslTargetNameOverride(tls.server_name);
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace tierscore::common

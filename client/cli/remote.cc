// What the commands share: exit codes, the coordinator flags, output formats.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/cli/commands.h"
#include "client/output.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace tierscore::client::cli {

constexpr char kUsagePayload[] = "tierscore.cli/usage";

absl::Status UsageError(const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

namespace {

// gRPC's words for a message over the receiver's size limit.
bool TooLarge(const absl::Status& status) {
  return absl::IsResourceExhausted(status) &&
         absl::StrContains(absl::AsciiStrToLower(status.message()), "larger than max");
}

// gRPC's words for a call the server cancelled (not the job): the
// coordinator does so to a results stream that takes nothing for a while.
bool CancelledByServer(const absl::Status& status) {
  return absl::IsCancelled(status) &&
         absl::StrContains(absl::AsciiStrToLower(status.message()), "cancelled on the server side");
}

}  // namespace

// What to do about errors whose gRPC words do not say it.
std::string Hint(const absl::Status& status) {
  const std::string message = absl::AsciiStrToLower(status.message());
  if (TooLarge(status)) {
    return " (the request is larger than the coordinator accepts: its --max-request-bytes)";
  }
  if (CancelledByServer(status)) {
    return " (the coordinator ended the call, as it does when it stops and to a results "
           "stream that takes nothing for its --stream-stall-seconds: retry, reading the "
           "results as they come)";
  }
  if (absl::IsUnavailable(status) &&
      (absl::StrContains(message, "socket closed") || absl::StrContains(message, "ssl") ||
       absl::StrContains(message, "handshake"))) {
    return " (check --target, and that --tls-ca or --insecure matches the server: a TLS server "
           "closes plaintext connections)";
  }
  return "";
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "tierscore: error: %s%s\n", std::string(status.message()).c_str(),
               Hint(status).c_str());
  if (status.GetPayload(kUsagePayload).has_value()) return kUsage;
  if (TooLarge(status)) return kInvalid;               // the caller's to fix, not to retry
  if (CancelledByServer(status)) return kUnavailable;  // the job was not cancelled
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return kInvalid;
    case absl::StatusCode::kNotFound:
      return kNotFound;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return kUnavailable;
    case absl::StatusCode::kCancelled:
      return kCancelled;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kDenied;
    default:
      return kError;
  }
}

int JobExit(const v1::Job& job) {
  switch (job.state()) {
    case v1::JOB_STATE_SUCCEEDED:
      return kOk;
    case v1::JOB_STATE_CANCELLED:
      std::fprintf(stderr, "tierscore: job %s was cancelled\n", job.id().c_str());
      return kCancelled;
    case v1::JOB_STATE_FAILED:
      std::fprintf(stderr, "tierscore: job %s failed: %s\n", job.id().c_str(), job.error().c_str());
      return kJobFailed;
    default:
      std::fprintf(stderr, "tierscore: job %s has not finished\n", job.id().c_str());
      return kError;
  }
}

Format RemoteFlags::output() const {
  if (format == "csv") return Format::kCsv;
  if (format == "json") return Format::kJson;
  return Format::kTable;
}

absl::Status RemoteFlags::ChooseTransport(ClientOptions& options) const {
  // A flag beats the environment: --insecure ignores $TIERSCORE_TLS_*, and
  // a --tls-* flag ignores $TIERSCORE_INSECURE (each --tls-* file not given
  // still comes from its variable).
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v == nullptr ? "" : v);
  };
  const bool tls_flag = !tls_ca.empty() || !tls_cert.empty() || !tls_key.empty();
  if (insecure && tls_flag) {
    return UsageError("--insecure and --tls-ca, --tls-cert, --tls-key exclude each other");
  }
  options.insecure = insecure;
  if (insecure) return absl::OkStatus();
  options.tls_ca = tls_ca.empty() ? env("TIERSCORE_TLS_CA") : tls_ca;
  options.tls_cert = tls_cert.empty() ? env("TIERSCORE_TLS_CERT") : tls_cert;
  options.tls_key = tls_key.empty() ? env("TIERSCORE_TLS_KEY") : tls_key;
  const std::string plain = absl::AsciiStrToLower(env("TIERSCORE_INSECURE"));
  if (tls_flag || plain.empty() || plain == "0" || plain == "false" || plain == "no" ||
      plain == "off") {
    return absl::OkStatus();
  }
  if (!options.tls_ca.empty() || !options.tls_cert.empty() || !options.tls_key.empty()) {
    return UsageError(
        "$TIERSCORE_INSECURE and $TIERSCORE_TLS_CA (or _CERT, _KEY) exclude each other; a flag "
        "(--insecure, --tls-ca) chooses for one command");
  }
  options.insecure = true;
  return absl::OkStatus();
}

absl::StatusOr<ClientOptions> RemoteFlags::Options() const {
  if (format != "table" && format != "csv" && format != "json") {
    return UsageError(
        absl::StrCat("--format: \"", format.substr(0, 40), "\" is not one of table, csv, json"));
  }
  ClientOptions options;
  options.target = target;
  options.tls_server_name = tls_server_name;
  TS_RETURN_IF_ERROR(ChooseTransport(options));
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, options.token)) {
      return absl::NotFoundError(absl::StrCat("--token-file: cannot read ", token_file));
    }
    options.token = std::string(absl::StripAsciiWhitespace(options.token));
  } else if (const char* token = std::getenv("TIERSCORE_TOKEN"); token != nullptr) {
    options.token = std::string(absl::StripAsciiWhitespace(token));
  }
  if (!options.insecure && options.tls_ca.empty()) {
    return UsageError(
        "no --tls-ca (or $TIERSCORE_TLS_CA) to check the coordinator's certificate with; "
        "--insecure (or $TIERSCORE_INSECURE=1) talks plaintext");
  }
  return options;
}

absl::StatusOr<std::unique_ptr<Client>> RemoteFlags::Connect() const {
  auto options = Options();
  if (!options.ok()) return options.status();
  return Client::Create(*options);
}

void AddRemoteFlags(CLI::App* cmd, RemoteFlags* flags) {
  cmd->add_option("--target", flags->target, "Coordinator host:port")
      ->envname("TIERSCORE_TARGET")
      ->required();
  // Their variables are read by ChooseTransport: a flag beats them.
  cmd->add_option("--tls-ca", flags->tls_ca,
                  "PEM CA the coordinator's certificate chains to (else $TIERSCORE_TLS_CA)");
  cmd->add_option("--tls-cert", flags->tls_cert,
                  "PEM client certificate, for a coordinator that asks for one (else "
                  "$TIERSCORE_TLS_CERT)");
  cmd->add_option("--tls-key", flags->tls_key,
                  "PEM private key of --tls-cert (else $TIERSCORE_TLS_KEY)");
  cmd->add_option("--tls-server-name", flags->tls_server_name,
                  "Name the coordinator's certificate must carry, when not --target's host");
  cmd->add_flag("--insecure", flags->insecure,
                "Talk plaintext (no TLS; else $TIERSCORE_INSECURE=1 unless a --tls-* flag is "
                "given)");
  cmd->add_option("--token-file", flags->token_file,
                  "File whose first line is your bearer token (else $TIERSCORE_TOKEN)")
      ->envname("TIERSCORE_TOKEN_FILE");
  // Checked by Connect: CLI11 reads the variable for every subcommand.
  cmd->add_option("--format", flags->format, "Output: table (for people), csv or json")
      ->envname("TIERSCORE_FORMAT")
      ->capture_default_str();
}

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;  // machines read absent as unknown
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out + "\n";
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Render(const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows, Format format) {
  std::string out;
  switch (format) {
    case Format::kTable: {
      std::vector<std::vector<std::string>> cells = {header};
      cells.insert(cells.end(), rows.begin(), rows.end());
      return Aligned(cells, header.size());
    }
    case Format::kCsv:
      for (size_t i = 0; i < header.size(); ++i)
        absl::StrAppend(&out, i ? "," : "", Field(header[i]));
      out += '\n';
      for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i) absl::StrAppend(&out, i ? "," : "", Field(row[i]));
        out += '\n';
      }
      return out;
    case Format::kJson:
      out = "[";
      for (size_t r = 0; r < rows.size(); ++r) {
        out += r ? ",{" : "{";
        for (size_t i = 0; i < header.size() && i < rows[r].size(); ++i) {
          absl::StrAppend(&out, i ? "," : "", JsonString(header[i]), ":", JsonString(rows[r][i]));
        }
        out += "}";
      }
      return out + "]\n";
  }
  return out;
}

}  // namespace tierscore::client::cli

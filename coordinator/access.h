#ifndef TIERSCORE_COORDINATOR_ACCESS_H_
#define TIERSCORE_COORDINATOR_ACCESS_H_

// Who may call what on the public API. Callers present a bearer token
// ("authorization: Bearer <token>"); a token file names each token's caller
// and role:
//
//   # token                            role       name      [aliases a submitter may publish to]
//   3f9c0d6e0b7a4c1e9d2f5a8b7c6d5e4f   reader     dashboards
//   8e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b   submitter  nightly   customers/nightly,segments/*
//   0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d   admin      ops
//
// Roles are ordered: a submitter may do what a reader may, an admin what a
// submitter may.
//   reader     job status, watch, list, KPIs, results, lookups, datasets' list
//   submitter  + submit (publishing only to its aliases), cancel and publish
//              its own jobs, upload and delete datasets
//   admin      + publish to any alias, cancel and publish anyone's jobs

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tierscore::coordinator {

enum class Role { kReader = 0, kSubmitter = 1, kAdmin = 2 };
const char* RoleName(Role role);

// An authenticated caller. Never holds the token.
struct Caller {
  std::string name;
  Role role = Role::kReader;
  // For a submitter: the aliases it may publish to; "prefix/*" matches
  // every alias under prefix/.
  std::vector<std::string> aliases;
};

// The token file, read once at start. Immutable afterwards: thread-safe.
class Tokens {
 public:
  // INVALID_ARGUMENT naming the file and line for a malformed line (an
  // unknown role, a token shorter than kMinTokenLength, a repeated token or
  // name, an alias pattern on a role other than submitter); NOT_FOUND if
  // the file cannot be read. Lines starting with '#' and blank lines are
  // skipped. The error never shows a token.
  static absl::StatusOr<std::unique_ptr<Tokens>> Load(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Tokens>> Parse(std::string_view text,
                                                       const std::string& name);

  static constexpr size_t kMinTokenLength = 16;

  // The caller whose token `authorization` ("Bearer <token>") carries;
  // UNAUTHENTICATED when it is missing, malformed or unknown. Every known
  // token is compared in constant time.
  absl::StatusOr<Caller> Authenticate(std::string_view authorization) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string token;
    Caller caller;
  };
  std::vector<Entry> entries_;
};

// PERMISSION_DENIED unless `caller` has at least `needed` for `what` ("submit
// jobs"): "<name> (reader) may not submit jobs: it needs the submitter role".
absl::Status Require(const Caller& caller, Role needed, absl::string_view what);

// Publishing to `alias`: an admin anywhere, a submitter to its aliases.
absl::Status RequirePublish(const Caller& caller, const std::string& alias);

// Changing a job (cancel, publish): its owner, or an admin. `owner` is the
// job's; empty for jobs from before tokens, which only an admin may change.
absl::Status RequireOwner(const Caller& caller, const std::string& owner, const std::string& job_id,
                          absl::string_view what);

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_ACCESS_H_

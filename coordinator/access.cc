#include "coordinator/access.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/names.h"

namespace tierscore::coordinator {
namespace {

bool ParseRole(absl::string_view text, Role* role) {
  for (Role r : {Role::kReader, Role::kSubmitter, Role::kAdmin}) {
    if (text == RoleName(r)) {
      *role = r;
      return true;
    }
  }
  return false;
}

// Equal without an early exit, so that the time taken says nothing about
// how much of a guess was right.
bool SameBytes(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  }
  return diff == 0;
}

bool AliasMatches(const std::string& pattern, const std::string& alias) {
  if (absl::EndsWith(pattern, "/*")) {
    return absl::StartsWith(alias, pattern.substr(0, pattern.size() - 1));
  }
  return pattern == alias;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kSubmitter:
      return "submitter";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<Tokens>> Tokens::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("tokens: cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

absl::StatusOr<std::unique_ptr<Tokens>> Tokens::Parse(std::string_view text,
                                                      const std::string& name) {
  auto tokens = std::unique_ptr<Tokens>(new Tokens());
  std::set<std::string> names;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", line_no, ": ", why));
    };
    if (fields.size() < 3 || fields.size() > 4) {
      return bad("expected \"<token> <role> <name> [aliases]\"");
    }
    Entry entry;
    entry.token = std::string(fields[0]);
    if (entry.token.size() < kMinTokenLength) {
      return bad(absl::StrCat("the token is shorter than ", kMinTokenLength, " characters"));
    }
    if (!ParseRole(fields[1], &entry.caller.role)) {
      return bad(absl::StrCat("role \"", absl::CHexEscape(fields[1].substr(0, 32)),
                              "\" is not one of reader, submitter, admin"));
    }
    entry.caller.name = std::string(fields[2]);
    if (absl::Status st = common::CheckName(entry.caller.name, "name"); !st.ok()) {
      return bad(std::string(st.message()));
    }
    if (!names.insert(entry.caller.name).second) {
      return bad(absl::StrCat("name \"", entry.caller.name, "\" is given twice"));
    }
    for (const Entry& e : tokens->entries_) {
      if (e.token == entry.token) return bad("this token is given twice");
    }
    if (fields.size() == 4) {
      if (entry.caller.role != Role::kSubmitter) {
        return bad("aliases are given for submitters only (an admin publishes anywhere)");
      }
      for (absl::string_view alias : absl::StrSplit(fields[3], ',', absl::SkipEmpty())) {
        std::string pattern(alias);
        const std::string bare =
            absl::EndsWith(pattern, "/*") ? pattern.substr(0, pattern.size() - 2) : pattern;
        if (absl::Status st = common::CheckName(bare, "alias"); !st.ok()) {
          return bad(std::string(st.message()));
        }
        entry.caller.aliases.push_back(std::move(pattern));
      }
    }
    tokens->entries_.push_back(std::move(entry));
  }
  if (tokens->entries_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no tokens"));
  }
  return tokens;
}

absl::StatusOr<Caller> Tokens::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "no bearer token: send \"authorization: Bearer <token>\" (tierscore --token-file or "
        "$TIERSCORE_TOKEN)");
  }
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return absl::UnauthenticatedError("the authorization metadata is not \"Bearer <token>\"");
  }
  const std::string_view token = authorization.substr(kBearer.size());
  const Caller* found = nullptr;
  for (const Entry& e : entries_) {
    if (SameBytes(e.token, token)) found = &e.caller;
  }
  if (found == nullptr) return absl::UnauthenticatedError("the bearer token is not known");
  return *found;
}

absl::Status Require(const Caller& caller, Role needed, absl::string_view what) {
  if (caller.role >= needed) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(caller.name, " (", RoleName(caller.role),
                                                  ") may not ", what, ": it needs the ",
                                                  RoleName(needed), " role"));
}

absl::Status RequirePublish(const Caller& caller, const std::string& alias) {
  if (caller.role == Role::kAdmin) return absl::OkStatus();
  if (absl::Status st = Require(caller, Role::kSubmitter, "publish"); !st.ok()) return st;
  for (const std::string& pattern : caller.aliases) {
    if (AliasMatches(pattern, alias)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(caller.name, " (submitter) may not publish to \"", alias, "\": its aliases are ",
                   caller.aliases.empty() ? "none" : absl::StrJoin(caller.aliases, ", "),
                   " (an admin publishes anywhere)"));
}

absl::Status RequireOwner(const Caller& caller, const std::string& owner, const std::string& job_id,
                          absl::string_view what) {
  if (caller.role == Role::kAdmin) return absl::OkStatus();
  if (absl::Status st = Require(caller, Role::kSubmitter, what); !st.ok()) return st;
  if (!owner.empty() && owner == caller.name) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(caller.name, " may not ", what, " job ", job_id, ": it is ",
                   owner.empty() ? "nobody's" : owner + "'s", " (an admin may)"));
}

}  // namespace tierscore::coordinator

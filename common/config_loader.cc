#include "common/config_loader.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/enum_names.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "yaml-cpp/yaml.h"

namespace tierscore::common {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Walks a YAML tree and a message descriptor side by side.
class YamlToProto {
 public:
  explicit YamlToProto(std::string source) : source_(std::move(source)) {}

  absl::Status ParseMessage(const YAML::Node& node, const std::string& path,
                            google::protobuf::Message* msg) {
    const Descriptor* desc = msg->GetDescriptor();
    if (node.IsNull()) return absl::OkStatus();
    if (node.IsSequence()) {
      // Shorthand: a message with a single repeated field, written as a list.
      if (desc->field_count() == 1 && desc->field(0)->is_repeated()) {
        return ParseRepeated(node, path, desc->field(0), msg);
      }
      return Error(node, path, "expected a mapping, got a list");
    }
    if (!node.IsMap()) {
      return Error(node, path, "expected a mapping, got a scalar");
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      const std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
      if (!seen.insert(key).second) return Error(kv.first, child, "duplicate key");
      const FieldDescriptor* field = desc->FindFieldByName(key);
      if (field == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < desc->field_count(); ++i) {
          names.push_back(desc->field(i)->name());
        }
        return Error(
            kv.first, child,
            absl::StrCat("unknown field (expected one of: ", absl::StrJoin(names, ", "), ")"));
      }
      if (const auto* oneof = field->containing_oneof();
          oneof != nullptr && msg->GetReflection()->HasOneof(*msg, oneof)) {
        return Error(kv.first, child,
                     absl::StrCat("only one of ", OneofFields(oneof), " may be given"));
      }
      if (field->is_repeated()) {
        TS_RETURN_IF_ERROR(ParseRepeated(kv.second, child, field, msg));
      } else {
        TS_RETURN_IF_ERROR(ParseSingular(kv.second, child, field, msg));
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status ParseRepeated(const YAML::Node& node, const std::string& path,
                             const FieldDescriptor* field, google::protobuf::Message* msg) {
    if (node.IsNull()) return absl::OkStatus();
    if (field->is_map()) {
      return Error(node, path, "map fields are not supported in files");
    }
    if (!node.IsSequence()) return Error(node, path, "expected a list");
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string child = absl::StrCat(path, "[", i, "]");
      TS_RETURN_IF_ERROR(ParseSingular(node[i], child, field, msg));
    }
    return absl::OkStatus();
  }

  // Sets (or, for a repeated field, appends) one value.
  absl::Status ParseSingular(const YAML::Node& node, const std::string& path,
                             const FieldDescriptor* field, google::protobuf::Message* msg) {
    const Reflection* r = msg->GetReflection();
    const bool rep = field->is_repeated();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      google::protobuf::Message* child =
          rep ? r->AddMessage(msg, field) : r->MutableMessage(msg, field);
      return ParseMessage(node, path, child);
    }
    if (!node.IsScalar()) {
      return Error(node, path,
                   absl::StrCat("expected a ", TypeName(field), ", got a ",
                                node.IsSequence() ? "list" : "mapping"));
    }
    const std::string& text = node.Scalar();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        rep ? r->AddString(msg, field, text) : r->SetString(msg, field, text);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_BOOL: {
        const std::string t = absl::AsciiStrToLower(text);
        bool v;
        if (t == "true" || t == "yes" || t == "on") {
          v = true;
        } else if (t == "false" || t == "no" || t == "off") {
          v = false;
        } else {
          return Error(node, path, absl::StrCat("expected true or false, got \"", text, "\""));
        }
        rep ? r->AddBool(msg, field, v) : r->SetBool(msg, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        if (!ParseDouble(text, &v)) {
          return Error(node, path, absl::StrCat("expected a number, got \"", text, "\""));
        }
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          rep ? r->AddDouble(msg, field, v) : r->SetDouble(msg, field, v);
        } else {
          rep ? r->AddFloat(msg, field, static_cast<float>(v))
              : r->SetFloat(msg, field, static_cast<float>(v));
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        int64_t v;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr != text.data() + text.size()) {
          return Error(node, path, absl::StrCat("expected an integer, got \"", text, "\""));
        }
        if (!FitsInto(field->cpp_type(), v)) {
          return Error(node, path, absl::StrCat("integer out of range: ", text));
        }
        switch (field->cpp_type()) {
          case FieldDescriptor::CPPTYPE_INT32:
            rep ? r->AddInt32(msg, field, static_cast<int32_t>(v))
                : r->SetInt32(msg, field, static_cast<int32_t>(v));
            break;
          case FieldDescriptor::CPPTYPE_INT64:
            rep ? r->AddInt64(msg, field, v) : r->SetInt64(msg, field, v);
            break;
          case FieldDescriptor::CPPTYPE_UINT32:
            rep ? r->AddUInt32(msg, field, static_cast<uint32_t>(v))
                : r->SetUInt32(msg, field, static_cast<uint32_t>(v));
            break;
          default:
            rep ? r->AddUInt64(msg, field, static_cast<uint64_t>(v))
                : r->SetUInt64(msg, field, static_cast<uint64_t>(v));
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* value = FindEnumValue(field->enum_type(), text);
        if (value == nullptr) {
          return Error(node, path,
                       absl::StrCat("unknown value \"", text, "\" (expected one of: ",
                                    absl::StrJoin(EnumChoices(field->enum_type()), ", "), ")"));
        }
        rep ? r->AddEnum(msg, field, value) : r->SetEnum(msg, field, value);
        return absl::OkStatus();
      }
      default:
        return Error(node, path, "unsupported field type");
    }
  }

  static bool FitsInto(FieldDescriptor::CppType type, int64_t v) {
    switch (type) {
      case FieldDescriptor::CPPTYPE_INT32:
        return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
      case FieldDescriptor::CPPTYPE_UINT32:
        return v >= 0 && v <= std::numeric_limits<uint32_t>::max();
      case FieldDescriptor::CPPTYPE_UINT64:
        return v >= 0;
      default:
        return true;
    }
  }

  static bool ParseDouble(const std::string& text, double* v) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
    return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(*v);
  }

  static const EnumValueDescriptor* FindEnumValue(const EnumDescriptor* e,
                                                  const std::string& text) {
    // The full name too, as protobuf's JSON writes it ("NORMALIZATION_MAX").
    if (const EnumValueDescriptor* full = e->FindValueByName(text);
        full != nullptr && full->number() != 0) {
      return full;
    }
    const std::string want = absl::AsciiStrToLower(text);
    for (int i = 0; i < e->value_count(); ++i) {
      if (e->value(i)->number() == 0) continue;  // UNSPECIFIED is not a choice
      if (EnumShortName(e->value(i)) == want) return e->value(i);
    }
    return nullptr;
  }

  static std::string OneofFields(const google::protobuf::OneofDescriptor* oneof) {
    std::vector<std::string> names;
    for (int i = 0; i < oneof->field_count(); ++i) names.push_back(oneof->field(i)->name());
    return absl::StrJoin(names, ", ");
  }

  static std::string TypeName(const FieldDescriptor* f) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        return "string";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "boolean";
      case FieldDescriptor::CPPTYPE_ENUM:
        return "name";
      default:
        return "number";
    }
  }

  absl::Status Error(const YAML::Node& node, const std::string& path,
                     const std::string& what) const {
    const YAML::Mark mark = node.Mark();
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", mark.line + 1, ":", mark.column + 1, ": ",
                     path.empty() ? "" : absl::StrCat(path, ": "), what));
  }

  std::string source_;
};

}  // namespace

absl::Status ParseYamlToProto(const std::string& text, const std::string& source_name,
                              google::protobuf::Message* message) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1,
                                                   ": not valid YAML/JSON: ", e.msg));
  }
  YamlToProto walker(source_name);
  try {
    return walker.ParseMessage(root, "", message);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
}

absl::Status LoadYamlFile(const std::string& path, google::protobuf::Message* message) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  return ParseYamlToProto(buffer.str(), path, message);
}

}  // namespace tierscore::common

// noisesched/common/names.h: enumerations as data.
//
// Every enum the user can name (samplers, targets, normalisations, architectures, optimizers, ...)
// has one table of {value, name, summary}. Parsing, printing, the config's allowed values, CLI help
// and the tests that loop over every entry all read that table, so a new entry is parsed, printed,
// documented and tested the day it is added. No LibTorch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "noisesched/common/error.h"

namespace noisesched {

template <typename Enum>
struct NamedValue {
  Enum value;
  const char* name;
  const char* summary;  // one line, for help texts
};

template <typename Enum>
class NameTable {
 public:
  // `what` names the enum in errors ("sampler", "target").
  NameTable(const char* what, std::vector<NamedValue<Enum>> entries)
      : what_(what), entries_(std::move(entries)) {}

  // Throws "<what> 'x' is not known; valid: a, b, c".
  Enum parse(std::string_view name) const {
    for (const auto& e : entries_) {
      if (name == e.name) return e.value;
    }
    throw Error(std::string(what_) + " '" + std::string(name) +
                "' is not known; valid: " + joined(", "));
  }
  const char* name(Enum value) const { return entry(value).name; }
  const char* summary(Enum value) const { return entry(value).summary; }
  bool contains(std::string_view name) const {
    for (const auto& e : entries_) {
      if (name == e.name) return true;
    }
    return false;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.emplace_back(e.name);
    return out;
  }
  // "a, b, c" (or with another separator).
  std::string joined(const char* separator = ", ") const {
    std::string out;
    for (const auto& e : entries_) out += (out.empty() ? "" : separator) + std::string(e.name);
    return out;
  }
  const std::vector<NamedValue<Enum>>& entries() const { return entries_; }
  const char* what() const { return what_; }

 private:
  const NamedValue<Enum>& entry(Enum value) const {
    for (const auto& e : entries_) {
      if (e.value == value) return e;
    }
    throw Error(std::string(what_) + ": value " + std::to_string(static_cast<long long>(value)) +
                " has no name");
  }

  const char* what_;
  std::vector<NamedValue<Enum>> entries_;
};

}  // namespace noisesched

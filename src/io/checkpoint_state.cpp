// state.json checking (see checkpoint_state.h).
#include "noisesched/io/checkpoint_state.h"

#include <cmath>
#include <limits>

#include "noisesched/common/error.h"

namespace noisesched {

namespace {

// A value for a message: primitives as JSON, containers by their type (dumping a deeply nested
// value would recurse once per level and could overflow the stack).
std::string shown(const nlohmann::json& value) {
  return value.is_primitive() ? value.dump() : std::string("a JSON ") + value.type_name();
}

}  // namespace

CheckpointState parse_checkpoint_state(std::string_view text, const std::string& path) {
  auto fail = [&](const std::string& why) { return Error("'" + path + "': " + why); };
  CheckpointState state;
  try {
    state.json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("not valid JSON (") + e.what() + ")");
  }
  const nlohmann::json& json = state.json;
  if (!json.is_object()) throw fail("not a JSON object, so not a noisesched checkpoint's state");
  const auto format = json.find("format");
  if (format == json.end() || !format->is_string() || *format != kCheckpointFormat) {
    throw fail(std::string("\"format\" is not \"") + kCheckpointFormat +
               "\": not a noisesched checkpoint");
  }
  // An integer key within [low, high].
  auto integer = [&](const char* key, std::int64_t low, std::int64_t high) {
    const auto it = json.find(key);
    if (it == json.end()) throw fail(std::string("\"") + key + "\" is missing");
    if (!it->is_number_integer() ||
        (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(high)) ||
        it->get<std::int64_t>() < low || it->get<std::int64_t>() > high) {
      throw fail(std::string("\"") + key + "\" is " + shown(*it) + "; expected an integer in [" +
                 std::to_string(low) + ", " + std::to_string(high) + "]");
    }
    return it->get<std::int64_t>();
  };
  const auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer() || *version != kCheckpointVersion) {
    throw fail("version " + (version == json.end() ? std::string("missing") : shown(*version)) +
               ", this program reads " + std::to_string(kCheckpointVersion));
  }
  // 2^53: far beyond any run, and step + steps stays exact and far from overflowing.
  state.step = integer("step", 0, std::int64_t{1} << 53);
  state.channels = static_cast<int>(integer("channels", 1, 3));
  if (state.channels == 2) throw fail("\"channels\" is 2; expected 1 or 3");
  state.num_classes = static_cast<int>(integer("num_classes", 1, 1'000'000));
  if (const auto names = json.find("class_names"); names != json.end()) {
    if (!names->is_array()) throw fail("\"class_names\" is not an array of strings");
    for (const auto& name : *names) {
      if (!name.is_string()) throw fail("\"class_names\" is not an array of strings");
      state.class_names.push_back(name.get<std::string>());
    }
    if (!state.class_names.empty() &&
        state.class_names.size() != static_cast<std::size_t>(state.num_classes)) {
      throw fail("\"class_names\" has " + std::to_string(state.class_names.size()) + " names for " +
                 std::to_string(state.num_classes) + " classes");
    }
  }
  const auto diffusion = json.find("diffusion");
  if (diffusion == json.end() || !diffusion->is_object() || !diffusion->contains("schedule") ||
      !(*diffusion)["schedule"].is_string()) {
    throw fail("\"diffusion\" has no \"schedule\" string");
  }
  state.train_schedule = (*diffusion)["schedule"].get<std::string>();
  if (const auto b = diffusion->find("input_scale"); b != diffusion->end()) {
    if (!b->is_number() || !std::isfinite(b->get<double>()) || b->get<double>() <= 0) {
      throw fail("\"diffusion\".\"input_scale\" is " + shown(*b) + "; expected a number > 0");
    }
    state.input_scale = b->get<double>();
  }
  for (const auto& [key, field] :
       {std::pair{"normalization", &state.normalization}, std::pair{"target", &state.target}}) {
    if (const auto value = diffusion->find(key); value != diffusion->end()) {
      if (!value->is_string()) {
        throw fail(std::string("\"diffusion\".\"") + key + "\" is " + shown(*value) +
                   "; expected a name");
      }
      *field = value->get<std::string>();
    }
  }
  if (const auto seconds = json.find("train_seconds"); seconds != json.end()) {
    if (!seconds->is_number() || !std::isfinite(seconds->get<double>()) ||
        seconds->get<double>() < 0) {
      throw fail("\"train_seconds\" is " + shown(*seconds) + "; expected a number >= 0");
    }
    state.train_seconds = seconds->get<double>();
  }
  return state;
}

}  // namespace noisesched

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

std::string checkpoint_state_text(const CheckpointState& state) {
  nlohmann::json diffusion = {{"schedule", state.train_schedule}};
  if (state.input_scale) diffusion["input_scale"] = *state.input_scale;
  if (!state.normalization.empty()) diffusion["normalization"] = state.normalization;
  if (!state.target.empty()) diffusion["target"] = state.target;
  if (!state.loss_weight.empty()) diffusion["loss_weight"] = state.loss_weight;
  if (state.self_cond_rate) diffusion["self_cond_rate"] = *state.self_cond_rate;
  nlohmann::json json = {{"format", kCheckpointFormat},
                         {"version", kCheckpointVersion},
                         {"step", state.step},
                         {"channels", state.channels},
                         {"num_classes", state.num_classes},
                         {"class_names", state.class_names},
                         {"diffusion", std::move(diffusion)},
                         {"parameters", state.parameters},
                         {"forward_flops_per_example", state.forward_flops_per_example},
                         {"train_seconds", state.train_seconds}};
  if (state.resolution > 0) json["resolution"] = state.resolution;
  if (!state.arch.empty()) json["arch"] = state.arch;
  if (!state.torch_version.empty()) json["torch_version"] = state.torch_version;
  return json.dump(2) + "\n";
}

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
       {std::pair{"normalization", &state.normalization}, std::pair{"target", &state.target},
        std::pair{"loss_weight", &state.loss_weight}}) {
    if (const auto value = diffusion->find(key); value != diffusion->end()) {
      if (!value->is_string()) {
        throw fail(std::string("\"diffusion\".\"") + key + "\" is " + shown(*value) +
                   "; expected a name");
      }
      *field = value->get<std::string>();
    }
  }
  if (const auto rate = diffusion->find("self_cond_rate"); rate != diffusion->end()) {
    if (!rate->is_number() || !(rate->get<double>() >= 0 && rate->get<double>() <= 1)) {
      throw fail("\"diffusion\".\"self_cond_rate\" is " + shown(*rate) +
                 "; expected a number in [0, 1]");
    }
    state.self_cond_rate = rate->get<double>();
  }
  // A string key of the document's top level, "" when absent.
  const auto text_of = [&](const char* key) {
    const auto it = json.find(key);
    if (it == json.end()) return std::string();
    if (!it->is_string())
      throw fail(std::string("\"") + key + "\" is " + shown(*it) + "; expected text");
    return it->get<std::string>();
  };
  state.arch = text_of("arch");
  state.torch_version = text_of("torch_version");
  if (json.contains("resolution"))
    state.resolution = static_cast<int>(integer("resolution", 1, 65536));
  if (json.contains("parameters")) {
    state.parameters = integer("parameters", 0, std::int64_t{1} << 53);
  }
  if (const auto flops = json.find("forward_flops_per_example"); flops != json.end()) {
    if (!flops->is_number() || !std::isfinite(flops->get<double>()) || flops->get<double>() < 0) {
      throw fail("\"forward_flops_per_example\" is " + shown(*flops) + "; expected a number >= 0");
    }
    state.forward_flops_per_example = flops->get<double>();
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

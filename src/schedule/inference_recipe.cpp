// The inference recipe (see inference_recipe.h).
#include "noisesched/schedule/inference_recipe.h"

#include <cmath>
#include <set>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_switch(std::string_view value, std::string_view key) {
  if (value == "on" || value == "true" || value == "1") return true;
  if (value == "off" || value == "false" || value == "0") return false;
  throw Error("inference recipe: " + std::string(key) + " must be on or off (got '" +
              std::string(value) + "')");
}

}  // namespace

InferenceRecipe InferenceRecipe::parse(std::string_view text) {
  InferenceRecipe recipe;
  const auto tokens = split_spaces(text);
  if (tokens.empty()) {
    throw Error("inference recipe is empty; expected e.g. '" + InferenceRecipe{}.to_string() + "'");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i];
    const auto eq = token.find('=');
    if (eq == std::string_view::npos) {
      if (i != 0) {
        throw Error("inference recipe '" + std::string(text) + "': '" + std::string(token) +
                    "' is not key=value (only the sampler name may stand alone, first)");
      }
      recipe.sampler = parse_sampler(token);
      seen.insert("sampler");
      continue;
    }
    const std::string key(token.substr(0, eq));
    const std::string_view value = token.substr(eq + 1);
    if (!seen.insert(key).second) {
      throw Error("inference recipe '" + std::string(text) + "': " + key + " is given twice");
    }
    const std::string what = "inference recipe: " + key;
    if (key == "sampler") {
      recipe.sampler = parse_sampler(value);
    } else if (key == "eta") {
      recipe.eta = parse_double(value, what);
    } else if (key == "steps") {
      recipe.steps = static_cast<int>(parse_integer(value, what, 1, kMaxSteps));
    } else if (key == "td") {
      recipe.td = parse_double(value, what);
    } else if (key == "schedule") {
      recipe.schedule = Schedule::parse(value);
    } else if (key == "guidance") {
      recipe.guidance = parse_double(value, what);
    } else if (key == "clip") {
      recipe.clip = parse_switch(value, key);
    } else {
      throw Error("inference recipe '" + std::string(text) + "': unknown key '" + key +
                  "'; valid: sampler, eta, steps, td, schedule, guidance, clip");
    }
  }
  recipe.validate();
  return recipe;
}

std::string InferenceRecipe::to_string() const {
  std::string out = noisesched::to_string(sampler);
  if (sampler == SamplerKind::kDdim) out += " eta=" + format_exact(eta);
  out += " steps=" + std::to_string(steps) + " td=" + format_exact(td) +
         " schedule=" + schedule.to_string() + " guidance=" + format_exact(guidance) +
         " clip=" + (clip ? "on" : "off");
  return out;
}

void InferenceRecipe::validate() const {
  if (steps < 1 || steps > kMaxSteps) {
    throw Error("sampler steps must be in [1, " + std::to_string(kMaxSteps) + "] (got " +
                std::to_string(steps) + ")");
  }
  if (!std::isfinite(td) || td < 0) {
    throw Error("time difference td must be finite and >= 0 (got " + format_exact(td) + ")");
  }
  if (!std::isfinite(eta) || eta < 0 || eta > 1) {
    throw Error("eta must be in [0, 1] (got " + format_exact(eta) + ")");
  }
  if (eta != 0 && sampler != SamplerKind::kDdim) {
    throw Error("eta applies to ddim only (sampler " + noisesched::to_string(sampler) + ")");
  }
  if (!std::isfinite(guidance) || guidance < 0 || guidance > kMaxGuidance) {
    throw Error("guidance must be finite and in [0, " + format_exact(kMaxGuidance) + "] (got " +
                format_exact(guidance) + ")");
  }
}

std::vector<SamplerStep> InferenceRecipe::plan() const {
  validate();
  return plan_sampler(sampler, eta, steps, td, schedule);
}

bool operator==(const InferenceRecipe& a, const InferenceRecipe& b) {
  return a.sampler == b.sampler && a.eta == b.eta && a.steps == b.steps && a.td == b.td &&
         a.schedule == b.schedule && a.guidance == b.guidance && a.clip == b.clip;
}

std::string inference_recipe_help() {
  const InferenceRecipe d;
  std::string samplers;
  for (const auto& e : sampler_names_table().entries()) {
    samplers += std::string("\n    ") + e.name + ": " + e.summary;
  }
  return "sampler (first, or sampler=NAME; default " + to_string(d.sampler) + "):" + samplers +
         "\n  eta=E       DDIM noise, in [0, 1] (default " + format_exact(d.eta) + ")" +
         "\n  steps=N     sampler steps (default " + std::to_string(d.steps) + ")" +
         "\n  td=D        time difference of the grid (default " + format_exact(d.td) + ")" +
         "\n  schedule=S  inference schedule spec (default " + d.schedule.to_string() + ")" +
         "\n  guidance=W  classifier-free guidance weight (default " + format_exact(d.guidance) +
         ")" + "\n  clip=on|off clip x0 estimates to [-b, b] (default " + (d.clip ? "on" : "off") +
         ")";
}

}  // namespace noisesched

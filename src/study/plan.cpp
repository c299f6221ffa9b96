// The study's grid (see plan.h).
#include "noisesched/study/plan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/config/metric_selection.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/config/toml_text.h"
#include "noisesched/schedule/input_scale.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

// Throws when a list of the study file names a value twice: its cells would share a run folder.
template <typename T, typename Show>
void reject_repeats(const std::vector<T>& items, const std::string& where, Show show) {
  for (std::size_t i = 1; i < items.size(); ++i) {
    if (std::find(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(i), items[i]) !=
        items.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw Error(where + ": " + show(items[i]) + " is listed twice");
    }
  }
}

std::string type_name(const toml::node& node) {
  std::ostringstream text;
  text << node.type();
  return text.str();
}

// Typed readers that name the file and the key.
struct Reader {
  std::string where;  // "study.toml: "

  Error bad(const std::string& key, const std::string& expected, const toml::node& node) const {
    return Error(where + key + ": expected " + expected + ", got " + type_name(node));
  }
  std::string text(const std::string& key, const toml::node& node) const {
    if (!node.is_string()) throw bad(key, "a string", node);
    return node.as_string()->get();
  }
  std::int64_t integer(const std::string& key, const toml::node& node) const {
    if (!node.is_integer()) throw bad(key, "an integer", node);
    return node.as_integer()->get();
  }
  int positive(const std::string& key, const toml::node& node) const {
    const std::int64_t value = integer(key, node);
    if (value < 1 || value > 2147483647) {
      throw Error(where + key + ": expected an integer >= 1, got " + std::to_string(value));
    }
    return static_cast<int>(value);
  }
  double number(const std::string& key, const toml::node& node) const {
    if (node.is_integer()) return static_cast<double>(node.as_integer()->get());
    if (node.is_floating_point()) return node.as_floating_point()->get();
    throw bad(key, "a number", node);
  }
  const toml::array& array(const std::string& key, const toml::node& node) const {
    if (!node.is_array()) throw bad(key, "an array", node);
    return *node.as_array();
  }
  std::vector<std::string> texts(const std::string& key, const toml::node& node) const {
    std::vector<std::string> out;
    for (const auto& item : array(key, node)) out.push_back(text(key, item));
    return out;
  }
  [[noreturn]] void unknown(const std::string& section, const std::string& key,
                            const std::vector<std::string>& keys) const {
    std::string list;
    for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
    throw Error(where + "unknown key '" + section + "." + key + "'; keys in [" + section +
                "]: " + list);
  }
};

bool glob_match(const char* pattern, const char* text) {
  if (*pattern == '\0') return *text == '\0';
  if (*pattern == '*') {
    for (const char* t = text;; ++t) {
      if (glob_match(pattern + 1, t)) return true;
      if (*t == '\0') return false;
    }
  }
  if (*text == '\0') return false;
  return (*pattern == '?' || *pattern == *text) && glob_match(pattern + 1, text + 1);
}

}  // namespace

std::string study_cell_id(int resolution, StudyAxis axis, const std::string& value,
                          std::int64_t seed) {
  std::string part = axis == StudyAxis::kInputScale ? "b" + value : value;
  for (char& c : part) {
    if (c == '/' || c == '\\' || c == ' ' || c == '\t' || c == '*' || c == '?') c = '_';
  }
  return "r" + std::to_string(resolution) + "_" + part + "_s" + std::to_string(seed);
}

StudyPlan parse_study(const std::string& toml_text, const std::string& source_name,
                      const std::string& base_folder) {
  const Reader r{source_name + ": "};
  const toml::table table = parse_toml(toml_text, source_name);
  StudyPlan plan;
  plan.source = source_name;
  const auto beside_study = [&](const std::string& path) {
    return fs::path(path).is_absolute() || base_folder.empty()
               ? path
               : (fs::path(base_folder) / path).lexically_normal().string();
  };
  for (const auto& [section_key, node] : table) {
    const std::string section(section_key.str());
    if (section == "study" || section == "eval") {
      if (!node.is_table()) throw Error(r.where + section + " must be a table ([" + section + "])");
      for (const auto& [key_node, value] : *node.as_table()) {
        const std::string key(key_node.str());
        const std::string name = section + "." + key;
        if (section == "study") {
          if (key == "out_dir") {
            plan.out_dir = r.text(name, value);
          } else if (key == "report") {
            plan.report = r.text(name, value);
          } else if (key == "seeds") {
            plan.seeds.clear();
            for (const auto& item : r.array(name, value))
              plan.seeds.push_back(r.integer(name, item));
            reject_repeats(plan.seeds, r.where + name,
                           [](std::int64_t seed) { return "seed " + std::to_string(seed); });
          } else if (key == "input_scales") {
            for (const auto& item : r.array(name, value)) {
              const double b = r.number(name, item);
              if (!(b > 0) || !std::isfinite(b)) {
                throw Error(r.where + name + ": every b must be a finite number > 0, got " +
                            format_exact(b));
              }
              plan.input_scales.push_back(b);
            }
            reject_repeats(plan.input_scales, r.where + name,
                           [](double b) { return "b = " + format_exact(b); });
          } else if (key == "schedules") {
            plan.schedules = r.texts(name, value);
            reject_repeats(plan.schedules, r.where + name,
                           [](const std::string& spec) { return "'" + spec + "'"; });
            for (const auto& spec : plan.schedules) {
              try {
                Schedule::parse(spec);
              } catch (const Error& e) {
                throw Error(r.where + name + ": " + e.what());
              }
            }
          } else if (key == "steps") {
            plan.steps = r.positive(name, value);
          } else if (key == "set") {
            plan.overrides = r.texts(name, value);
          } else if (key == "compare") {
            plan.compare = beside_study(r.text(name, value));
          } else {
            r.unknown(section, key,
                      {"out_dir", "report", "seeds", "input_scales", "schedules", "steps", "set",
                       "compare"});
          }
        } else if (key == "num") {
          plan.eval_num = r.positive(name, value);
        } else if (key == "recipe") {
          plan.eval_recipe = r.text(name, value);
        } else if (key == "metrics") {
          plan.eval_metrics = r.text(name, value);
        } else {
          r.unknown(section, key, {"num", "recipe", "metrics"});
        }
      }
    } else if (section == "resolution") {
      if (!node.is_array_of_tables()) {
        throw Error(r.where + "resolution must be an array of tables ([[resolution]])");
      }
      for (const auto& item : *node.as_array()) {
        StudyResolution res;
        for (const auto& [key_node, value] : *item.as_table()) {
          const std::string key(key_node.str());
          const std::string name = "resolution." + key;
          if (key == "size") {
            res.size = r.positive(name, value);
          } else if (key == "config") {
            res.config_path = beside_study(r.text(name, value));
          } else if (key == "steps") {
            res.steps = r.positive(name, value);
          } else if (key == "set") {
            res.overrides = r.texts(name, value);
          } else {
            r.unknown("resolution", key, {"size", "config", "steps", "set"});
          }
        }
        if (res.size == 0 || res.config_path.empty()) {
          throw Error(r.where + "every [[resolution]] needs size and config");
        }
        for (const auto& other : plan.resolutions) {
          if (other.size == res.size) {
            throw Error(r.where + "resolution " + std::to_string(res.size) +
                        " is given twice ([[resolution]] with size = " + std::to_string(res.size) +
                        ")");
          }
        }
        plan.resolutions.push_back(res);
      }
    } else {
      throw Error(r.where + "unknown section [" + section + "]; sections: study, eval, resolution");
    }
  }
  // A resolution that did not set steps takes [study] steps, wherever it was written.
  for (auto& res : plan.resolutions) {
    if (res.steps == 0) res.steps = plan.steps;
    if (res.steps == 0) {
      throw Error(r.where + "resolution " + std::to_string(res.size) +
                  ": no training steps (set study.steps or resolution.steps)");
    }
  }
  if (plan.resolutions.empty()) throw Error(r.where + "no [[resolution]] given");
  if (plan.seeds.empty()) throw Error(r.where + "study.seeds is empty");
  if (plan.input_scales.empty() && plan.schedules.empty()) {
    throw Error(r.where + "give study.input_scales or study.schedules (or both)");
  }
  try {
    InferenceRecipe::parse(plan.eval_recipe);
    if (!MetricSelection::parse(plan.eval_metrics).fid) {
      throw Error("metrics '" + plan.eval_metrics + "' must include fid (the study compares FID)");
    }
  } catch (const Error& e) {
    throw Error(r.where + "eval: " + e.what());
  }
  return plan;
}

StudyPlan load_study(const std::string& path) {
  return parse_study(read_file(path, "study file"), path, fs::path(path).parent_path().string());
}

std::vector<StudyCell> StudyPlan::cells() const {
  std::vector<StudyCell> out;
  for (const auto& res : resolutions) {
    Config base = load_config(res.config_path);
    const auto cell_config = [&](StudyAxis axis, const std::string& value, std::int64_t seed,
                                 const std::string& id) {
      Config c = base;
      try {
        for (const auto& o : overrides) apply_override(c, o);
        for (const auto& o : res.overrides) apply_override(c, o);
      } catch (const Error& e) {
        throw Error(source + ": " + e.what());
      }
      c.data.resolution = res.size;
      c.diffusion.schedule = axis == StudyAxis::kInputScale ? "simple_linear" : value;
      c.diffusion.input_scale = axis == StudyAxis::kInputScale ? value : "1";
      c.train.steps = res.steps;
      c.train.seed = seed;
      c.train.out_dir = (fs::path(out_dir) / "cells" / id).string();
      c.train.sample_every = res.steps;
      c.train.checkpoint_every = std::min(c.train.checkpoint_every, res.steps);
      c.eval.every = res.steps;
      c.eval.every_seconds = 0;
      c.eval.num = eval_num;
      c.eval.recipe = eval_recipe;
      c.eval.metrics = eval_metrics;
      try {
        resolve(c);
      } catch (const Error& e) {
        throw Error(source + ": cell " + id + " (preset " + res.config_path + "): " + e.what());
      }
      return c;
    };
    const auto add = [&](StudyAxis axis, const std::string& value) {
      for (std::int64_t seed : seeds) {
        StudyCell cell;
        cell.id = study_cell_id(res.size, axis, value, seed);
        if (std::any_of(out.begin(), out.end(),
                        [&](const StudyCell& c) { return c.id == cell.id; })) {
          continue;
        }
        cell.axis = axis;
        cell.value = value;
        cell.resolution = res.size;
        cell.seed = seed;
        cell.config = cell_config(axis, value, seed, cell.id);
        out.push_back(std::move(cell));
      }
    };
    for (double b : input_scales) add(StudyAxis::kInputScale, format_exact(b));
    for (const auto& spec : schedules) {
      // simple_linear at b = 1 is the b axis's cell; the schedule table reads it from there.
      if (Schedule::parse(spec).to_string() == Schedule::parse("simple_linear").to_string() &&
          std::find(input_scales.begin(), input_scales.end(), 1.0) != input_scales.end()) {
        continue;
      }
      add(StudyAxis::kSchedule, spec);
    }
  }
  return out;
}

std::vector<StudyCell> select_cells(const std::vector<StudyCell>& cells,
                                    const std::vector<std::string>& patterns) {
  if (patterns.empty()) return cells;
  std::vector<StudyCell> out;
  for (const auto& pattern : patterns) {
    bool matched = false;
    for (const auto& cell : cells) {
      if (!glob_match(pattern.c_str(), cell.id.c_str())) continue;
      matched = true;
      if (std::none_of(out.begin(), out.end(),
                       [&](const StudyCell& c) { return c.id == cell.id; })) {
        out.push_back(cell);
      }
    }
    if (!matched) {
      std::string some;
      for (std::size_t i = 0; i < cells.size() && i < 6; ++i) some += (i ? ", " : "") + cells[i].id;
      throw Error("--cells: '" + pattern + "' matches no cell; cells are named like " + some);
    }
  }
  // In the plan's order.
  std::vector<StudyCell> ordered;
  for (const auto& cell : cells) {
    if (std::any_of(out.begin(), out.end(), [&](const StudyCell& c) { return c.id == cell.id; })) {
      ordered.push_back(cell);
    }
  }
  return ordered;
}

}  // namespace noisesched

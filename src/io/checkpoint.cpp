// Crash-safe checkpoints (see checkpoint.h).
#include "noisesched/io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) { return read_file(path.string()); }

// What config.toml resolves to against what state.json recorded: any difference (a hand-edited
// file, a changed resolution rule) is refused. Keys a file from before they were recorded lacks
// are not compared.
void check_agreement(const LoadedCheckpoint& loaded) {
  const CheckpointState& state = loaded.state;
  const CheckpointState expected = specified_state(loaded.spec);
  const Config& config = loaded.spec.config;
  const auto disagree = [&](const std::string& what, const std::string& from_config,
                            const std::string& from_state) {
    if (from_state.empty() || from_config == from_state) return;
    throw Error("checkpoint '" + loaded.path + "': config.toml and state.json disagree on " + what +
                ": config.toml gives " + from_config + ", state.json says " + from_state);
  };
  const auto number = [](const std::optional<double>& value) {
    return value ? format_exact(*value) : std::string();
  };
  disagree("the architecture", expected.arch, state.arch);
  disagree("the resolution", std::to_string(expected.resolution),
           state.resolution > 0 ? std::to_string(state.resolution) : "");
  disagree("the training schedule", expected.train_schedule, state.train_schedule);
  disagree("b (diffusion.input_scale = '" + config.diffusion.input_scale + "' at " +
               std::to_string(config.data.resolution) + " px)",
           number(expected.input_scale), number(state.input_scale));
  disagree("the normalisation", expected.normalization, state.normalization);
  disagree("the target", expected.target, state.target);
  disagree("the loss weighting", expected.loss_weight, state.loss_weight);
  disagree("the self-conditioning rate", number(expected.self_cond_rate),
           number(state.self_cond_rate));
}

void run_hook(const SaveHook& hook, const char* stage) {
  if (hook) hook(stage);
}

// Step folders under `folder`, oldest first.
std::vector<std::pair<std::int64_t, fs::path>> step_folders(const fs::path& folder) {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.size() != 13 || name.rfind("step_", 0) != 0) continue;
    if (name.find_first_not_of("0123456789", 5) != std::string::npos) continue;
    found.emplace_back(std::stoll(name.substr(5)), entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::map<std::string, std::string> metadata(const char* kind, std::int64_t step) {
  return {{"format", "noisesched"}, {"kind", kind}, {"step", std::to_string(step)}};
}

}  // namespace

CheckpointState specified_state(const RunSpec& spec) {
  CheckpointState state;
  const DiffusionSetup& setup = spec.diffusion;
  state.arch = to_string(spec.arch);
  state.resolution = spec.config.data.resolution;
  state.train_schedule = setup.train_schedule.to_string();
  state.input_scale = setup.scale;
  state.normalization = to_string(setup.normalization);
  state.target = to_string(setup.target);
  state.loss_weight = spec.loss_weighting.to_string();
  state.self_cond_rate = spec.config.diffusion.self_cond_rate;
  return state;
}

std::string step_name(std::int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step_%08lld", static_cast<long long>(step));
  return name;
}

std::string save_checkpoint(const std::string& out_dir, const CheckpointContent& content, int keep,
                            const SaveHook& hook) {
  const fs::path folder = fs::path(out_dir) / "checkpoints";
  create_directories(folder.string());
  const fs::path final_path = folder / step_name(content.step);
  const fs::path temporary = temporary_path_for(final_path.string());
  create_directories(temporary.string());
  try {
    save_safetensors((temporary / "model.safetensors").string(), content.model,
                     metadata("model", content.step));
    run_hook(hook, "model");
    save_safetensors((temporary / "ema.safetensors").string(), content.ema,
                     metadata("ema", content.step));
    run_hook(hook, "ema");
    save_safetensors((temporary / "optimizer.safetensors").string(), content.optimizer,
                     metadata("optimizer", content.step));
    run_hook(hook, "optimizer");
    write_file_atomically((temporary / "config.toml").string(), config_to_toml(content.config));
    run_hook(hook, "config");
    CheckpointState state = content.state;
    state.step = content.step;
    write_file_atomically((temporary / "state.json").string(), checkpoint_state_text(state));
    run_hook(hook, "state");
    // Move the complete folder into place; a same-step folder left by an earlier run is replaced.
    std::error_code error;
    if (fs::exists(final_path)) {
      const fs::path old = temporary_path_for(final_path.string() + ".old");
      fs::rename(final_path, old);
      fs::rename(temporary, final_path);
      fs::remove_all(old, error);
    } else {
      fs::rename(temporary, final_path);
    }
    run_hook(hook, "rename");
    write_file_atomically((folder / "latest").string(), final_path.filename().string() + "\n");
    run_hook(hook, "latest");
  } catch (const fs::filesystem_error& e) {
    std::error_code ignored;
    fs::remove_all(temporary, ignored);
    throw Error("cannot save checkpoint '" + final_path.string() + "': " + e.what());
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(temporary, ignored);
    throw;
  }
  // Prune: keep the newest `keep` step folders (the one just written among them).
  const auto folders = step_folders(folder);
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < folders.size(); ++i) {
    if (folders[i].second == final_path) continue;
    std::error_code ignored;
    fs::remove_all(folders[i].second, ignored);
  }
  return final_path.string();
}

std::optional<std::string> latest_checkpoint(const std::string& out_dir) {
  const fs::path latest = fs::path(out_dir) / "checkpoints" / "latest";
  if (!fs::is_regular_file(latest)) return std::nullopt;
  std::string name = read_text(latest);
  name.erase(name.find_last_not_of(" \n\r\t") + 1);
  return (fs::path(out_dir) / "checkpoints" / name).string();
}

LoadedCheckpoint load_checkpoint(const std::string& path_in, bool with_training_state) {
  fs::path path = path_in;
  if (!fs::exists(path)) throw Error("checkpoint '" + path_in + "': no such file or folder");
  if (fs::is_regular_file(path / "checkpoints" / "latest")) {
    path = *latest_checkpoint(path.string());
  } else if (fs::is_regular_file(path / "latest")) {
    path = *latest_checkpoint(path.parent_path().string());
  }
  const fs::path state_path = path / "state.json";
  if (!fs::is_regular_file(state_path)) {
    throw Error("checkpoint '" + path_in +
                "': not a noisesched checkpoint (no state.json; expected a run folder, its "
                "checkpoints folder or a step_NNNNNNNN folder)");
  }
  LoadedCheckpoint loaded;
  loaded.path = path.string();
  loaded.state = parse_checkpoint_state(read_text(state_path), state_path.string());
  loaded.step = loaded.state.step;
  loaded.spec =
      resolve(parse_config(read_text(path / "config.toml"), (path / "config.toml").string()));
  check_agreement(loaded);
  auto load_kind = [&](const char* file, const char* kind) {
    const auto content = load_safetensors((path / file).string());
    const auto it = content.metadata.find("kind");
    if (content.metadata.count("format") == 0 || content.metadata.at("format") != "noisesched" ||
        it == content.metadata.end() || it->second != kind) {
      throw Error("checkpoint '" + path.string() + "': " + file + " is not a noisesched " + kind +
                  " file");
    }
    return content.tensors;
  };
  loaded.ema = load_kind("ema.safetensors", "ema");
  if (with_training_state) {
    loaded.model = load_kind("model.safetensors", "model");
    loaded.optimizer = load_kind("optimizer.safetensors", "optimizer");
  }
  return loaded;
}

}  // namespace noisesched

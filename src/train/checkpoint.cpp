// Crash-safe checkpoints (see checkpoint.h).
#include "noisesched/train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) { return read_file(path.string()); }

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
    nlohmann::json state = content.state;
    state["format"] = kCheckpointFormat;
    state["version"] = kCheckpointVersion;
    state["step"] = content.step;
    write_file_atomically((temporary / "state.json").string(), state.dump(2) + "\n");
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
  loaded.config = parse_config(read_text(path / "config.toml"), (path / "config.toml").string());
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

// noisesched/io/checkpoint_state.h: a checkpoint's state.json, read and checked without LibTorch.
//
// state.json holds the step and what the network was trained on (see io/checkpoint.h). Every
// key the program reads is checked for presence, type and range here, so a corrupt or hand-edited
// file gets an error naming the file, the key and what was expected, never an exception from the
// JSON library or a nonsense value downstream. It is the state.json fuzz target's entry point.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace noisesched {

inline constexpr const char* kCheckpointFormat = "noisesched-checkpoint";
inline constexpr int kCheckpointVersion = 1;

struct CheckpointState {
  std::int64_t step = 0;
  int channels = 0;                      // 1 or 3
  int resolution = 0;                    // pixels on a side (0: not recorded)
  int num_classes = 0;                   // >= 1
  std::vector<std::string> class_names;  // empty, or one per class
  // What the run's specification resolved to (config/run_spec.h), by canonical text: written by
  // every checkpoint, compared with its config.toml when it is loaded. Absent in a file from
  // before a key was recorded: empty / nullopt, and not compared.
  std::string arch;
  std::string train_schedule;         // diffusion.schedule (always present)
  std::optional<double> input_scale;  // b after the resolution rule
  std::string normalization;
  std::string target;
  std::string loss_weight;
  std::optional<double> self_cond_rate;
  // Informational (shown, never compared): the network's size and cost, the LibTorch it ran on.
  std::int64_t parameters = 0;
  double forward_flops_per_example = 0;
  std::string torch_version;
  double train_seconds = 0;  // training time before this checkpoint (0 if absent)
  nlohmann::json json;       // the whole document as read
};

// state.json's text for `state` (format and version added; `json` is not written): the one writer,
// whose every key parse_checkpoint_state reads back to the same values.
std::string checkpoint_state_text(const CheckpointState& state);

// Parses and checks state.json's text; `path` is named in every error.
CheckpointState parse_checkpoint_state(std::string_view text, const std::string& path);

}  // namespace noisesched

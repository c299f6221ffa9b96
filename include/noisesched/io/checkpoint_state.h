// noisesched/io/checkpoint_state.h: a checkpoint's state.json, read and checked without LibTorch.
//
// state.json holds the step and what the network was trained on (see train/checkpoint.h). Every
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
  int num_classes = 0;                   // >= 1
  std::vector<std::string> class_names;  // empty, or one per class
  std::string train_schedule;            // diffusion.schedule, canonical spec text
  // The rest of the resolved diffusion setup, when the checkpoint records it (all do since
  // state.json first had them; absent: not compared): b after the resolution rule, the
  // normalisation and the target, by name.
  std::optional<double> input_scale;
  std::string normalization;
  std::string target;
  double train_seconds = 0;  // training time before this checkpoint (0 if absent)
  nlohmann::json json;       // the whole document (other keys are informational)
};

// Parses and checks state.json's text; `path` is named in every error.
CheckpointState parse_checkpoint_state(std::string_view text, const std::string& path);

}  // namespace noisesched

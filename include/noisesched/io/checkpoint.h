// noisesched/io/checkpoint.h: training checkpoints that survive crashes.
//
// <out_dir>/checkpoints/step_00001000/
//   model.safetensors       the trained weights
//   ema.safetensors         their exponential moving average (what sampling uses)
//   optimizer.safetensors   optimizer moments ("m/<name>", "v/<name>")
//   config.toml             the effective configuration
//   state.json              step, data shape, diffusion setup, versions
// <out_dir>/checkpoints/latest   the folder name of the newest complete checkpoint
//
// A checkpoint is written into a temporary folder, flushed, renamed into place, and only then
// named in `latest`; older checkpoints beyond `keep` are deleted afterwards. A crash or a full
// disk at any point leaves `latest` naming a complete, loadable checkpoint.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "noisesched/config/run_spec.h"
#include "noisesched/io/checkpoint_state.h"
#include "noisesched/io/safetensors.h"

namespace noisesched {

struct CheckpointContent {
  std::int64_t step = 0;
  Config config;
  CheckpointState state;  // state.json (its step is set from `step`)
  NamedTensors model, ema, optimizer;
};

// The part of state.json a run's specification decides: the architecture, the resolution and the
// resolved diffusion (schedule, b, normalisation, target, loss weighting, self-conditioning rate),
// each as its canonical text. The trainer writes it; load_checkpoint compares it with config.toml.
CheckpointState specified_state(const RunSpec& spec);

// "step_00001000": the name of a step's checkpoint folder and sample grid.
std::string step_name(std::int64_t step);

// Called between the stages of a save ("model", "ema", "optimizer", "config", "state",
// "rename", "latest"); tests throw from it to simulate a crash at that point.
using SaveHook = std::function<void(const std::string& stage)>;

// Saves a checkpoint under <out_dir>/checkpoints and returns its folder.
std::string save_checkpoint(const std::string& out_dir, const CheckpointContent& content, int keep,
                            const SaveHook& hook = {});

struct LoadedCheckpoint {
  std::string path;  // the step folder
  std::int64_t step = 0;
  RunSpec spec;           // config.toml, resolved
  CheckpointState state;  // state.json, checked
  std::map<std::string, at::Tensor> model, ema, optimizer;
};

// `path` is a run folder (uses checkpoints/latest), its checkpoints folder, or a step folder.
// Throws naming the path when it is missing, incomplete or not a noisesched checkpoint, and when
// state.json and config.toml disagree on anything specified_state() records (naming both values:
// sampling with another b or target than the training's would give wrong images silently).
// `with_training_state` = false skips the model and optimizer files (sampling needs only the EMA).
LoadedCheckpoint load_checkpoint(const std::string& path, bool with_training_state = true);

// The folder `latest` names under <out_dir>/checkpoints, if any.
std::optional<std::string> latest_checkpoint(const std::string& out_dir);

}  // namespace noisesched

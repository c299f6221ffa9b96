// noisesched/train/trainer.h: the training loop of Chen (2023), Algorithm 2, end to end.
//
// Per step: the batch of that step (data/loader.h), t ~ U(0, 1) per example, noise, label dropout
// to the null class, self-conditioning with probability self_cond_rate (a no-grad first pass whose
// latents or x0 estimate feed the trained second pass), MSE on the target, gradient clipping,
// LAMB or AdamW with warm-up and decay, EMA. Every random draw of step s comes from generators
// seeded with (train.seed, s), so a run stopped and resumed at any step reproduces the
// uninterrupted run exactly (on the CPU with a fixed thread count).
//
// Output in train.out_dir: config.toml, metrics.jsonl (one JSON object per log interval),
// samples/step_NNNNNNNN.png (class grids from the EMA weights), checkpoints/ (checkpoint.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "noisesched/config/run_spec.h"

namespace noisesched {

class Communicator;

struct TrainRequest {
  RunSpec spec;                            // the run, resolved (config/run_spec.h)
  bool resume = false;                     // continue from out_dir's latest checkpoint
  std::optional<std::int64_t> stop_after;  // stop (with a checkpoint) after this many steps
  bool progress_bar = false;               // redraw one line (a terminal) instead of log lines
  // Called after the work between steps: a sample grid ("grid"), an evaluation ("eval") or a
  // checkpoint ("checkpoint") of `step`. Tests raise signals from it.
  std::function<void(const std::string& stage, std::int64_t step)> after_stage;
  // The processes that train together (not owned; null: this one alone). Each takes its share of
  // every batch, of the grids and of the evaluations; only the first writes into out_dir and logs.
  Communicator* communicator = nullptr;
};

struct TrainResult {
  std::int64_t first_step = 0;  // the step this run started from
  std::int64_t last_step = 0;   // steps completed in total
  std::string checkpoint;       // the last checkpoint written
  std::string report;           // the run report written at the end ("" when off or failed)
  double last_loss = 0.0;       // mean loss of the last log interval
  int signal = 0;               // SIGINT or SIGTERM when stopped by one, else 0
};

// Trains; log lines go to `log`. Throws noisesched::Error (bad data, a non-finite loss, a resume
// whose configuration disagrees with the checkpoint, ...); the last good checkpoint is kept.
TrainResult train(const TrainRequest& request, std::ostream& log);

}  // namespace noisesched

// noisesched/config/run_spec.h: one typed, validated specification of a run, resolved once.
//
// A Config is text: what TOML, `--set` and a resume's differences read and write, round-tripping
// bit for bit. resolve() reads every string of it once (schedule specs, b with its resolution
// rule, the loss weighting, the learning-rate schedule, the enums, both inference recipes, the
// metric list), checks every range and every combination, and returns the typed values; what
// runs (the engine, the model factory, the trainer, the run report, a loaded checkpoint) takes
// this, so no one parses a config string again. No LibTorch.
#pragma once

#include "noisesched/config/config.h"
#include "noisesched/config/enums.h"
#include "noisesched/config/loss_weight.h"
#include "noisesched/config/lr_schedule.h"
#include "noisesched/config/metric_selection.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/input_scale.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {

// What a model's diffusion is: fixed at training, recorded in its checkpoint's state.json, and
// reused by sampling (diffusion/process.h applies it).
struct DiffusionSetup {
  Schedule train_schedule;
  double scale = 1.0;  // b, resolved (auto:REF already divided by the resolution)
  Normalization normalization = Normalization::kEmpirical;
  Target target = Target::kEps;
  // Whether the network was trained with self-conditioning (diffusion.self_cond_rate > 0). A
  // network trained without it only ever saw zeros there, so sampling feeds it none.
  bool self_condition = true;
};

// A Config resolved. `config` is the text it came from; the other members are its strings read.
// A key that resolves to nothing here (a number, a path, the device) may be changed in `config`;
// for any other, change the Config and resolve again rather than editing one side.
struct RunSpec {
  Config config;
  Architecture arch = Architecture::kRin;
  DiffusionSetup diffusion;
  InputScale input_scale;  // as written (auto:REF kept); diffusion.scale is it resolved
  LossWeighting loss_weighting;
  OptimizerKind optimizer = OptimizerKind::kLamb;
  LrSchedule lr_schedule;
  Precision precision = Precision::kFp32;
  CudaGraphs cuda_graphs = CudaGraphs::kAuto;
  DistBackend dist_backend = DistBackend::kAuto;
  InferenceRecipe sample_recipe;  // train.sample_recipe
  InferenceRecipe eval_recipe;    // eval.recipe
  MetricSelection eval_metrics;   // eval.metrics
};

// Checks ranges and names across the whole config and reads its strings. Every error is one
// Error "config: KEY ...": a range as "config: KEY must be RULE (got VALUE)", a string that does
// not parse as "config: KEY: <the parser's message>".
RunSpec resolve(const Config& config);

}  // namespace noisesched

// noisesched/schedule/inference_recipe.h: how a trained model is sampled, as one value.
//
// Sampler, eta, steps, time difference, inference schedule, guidance weight and x0 clipping, with
// their defaults written here once. Every place that samples (the CLI's sampler flags, the sample
// grids and evaluation during training, `sample`, `eval`, `check-sampler`, `schedule --table`)
// takes an InferenceRecipe, and every result records its canonical text:
//
//   ddpm steps=100 td=0 schedule=cosine guidance=0 clip=on
//   ddim eta=0.5 steps=50 td=0 schedule=sigmoid:start=-3,end=3,tau=0.9 guidance=1.5 clip=on
//
// parse() reads the sampler name first (or `sampler=NAME`) and then any of the keys, each at most
// once, separated by spaces; missing keys take the defaults. What the model was trained with (b,
// normalisation, target, training schedule, self-conditioning) comes from its checkpoint, never
// from a recipe. No LibTorch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "noisesched/schedule/sampler_step.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {

inline constexpr const char* kDefaultInferenceSchedule = "cosine";

struct InferenceRecipe {
  SamplerKind sampler = SamplerKind::kDdpm;  // the official code's sampler
  double eta = 0.0;                          // DDIM only: 0 deterministic, 1 = ddpm_small
  int steps = 100;
  double td = 0.0;  // time difference of the grid (SPEC section 6)
  Schedule schedule = Schedule::parse(kDefaultInferenceSchedule);
  double guidance = 0.0;  // classifier-free guidance w: (1 + w) cond - w uncond
  bool clip = true;       // clip x0 estimates to [-b, b] (and recompute eps from them)

  // Throws naming the key and what is allowed; the result is validated.
  static InferenceRecipe parse(std::string_view text);
  // Canonical text (every key; eta only for ddim); parse(to_string()) gives back the same recipe.
  std::string to_string() const;
  // Throws naming the first value out of range: steps in [1, kMaxSteps], td finite and >= 0,
  // eta in [0, 1] and ddim only, guidance finite and in [0, kMaxGuidance].
  void validate() const;
  // The sampler's steps with all their coefficients (sampler_step.h).
  std::vector<SamplerStep> plan() const;

  static constexpr int kMaxSteps = 100000;
  static constexpr double kMaxGuidance = 100.0;

  friend bool operator==(const InferenceRecipe& a, const InferenceRecipe& b);
};

// One line per key with its default, for help texts.
std::string inference_recipe_help();

}  // namespace noisesched

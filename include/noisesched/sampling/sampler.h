// noisesched/sampling/sampler.h: one sampler loop for every sampler, and the model as a callback.
//
// run_sampler() applies a plan (schedule/sampler_step.h: every coefficient computed in double
// precision in the torch-free layer) to a denoise callback, the starting noise and a generator,
// and returns the last x0 estimate (in the model's scaled space, i.e. b x0). Guidance,
// normalisation, self-conditioning and x0 clipping live inside the callback, so the loop never
// sees a model (SPEC section 6; the shape follows k-diffusion and stable-diffusion.cpp).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "noisesched/diffusion/parameterization.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/sampler_step.h"

namespace noisesched {

class NetworkGraphs;  // diffusion/network.h

// The point at which the callback is asked for estimates.
struct DenoiseQuery {
  double t;
  Variances v;  // from the inference schedule
  int step;     // 0-based index in the plan
};

// z: [B, C, H, W] in the scaled space -> x0 (clipped to [-b, b] unless the recipe says otherwise)
// and eps consistent with it.
using DenoiseFn = std::function<Prediction(const at::Tensor& z, const DenoiseQuery& query)>;

// Runs `plan` from z_start; returns the last x0 estimate. `generator` draws the step noise of
// stochastic samplers.
at::Tensor run_sampler(const std::vector<SamplerStep>& plan, const DenoiseFn& denoise,
                       const at::Tensor& z_start, at::Generator& generator);

// A trained network as a denoise callback (diffusion/network.h's predict): guidance and clipping
// from `recipe`, self-conditioning carried from call to call when the model was trained with it.
// `labels` [B] int64 (the null class K for unconditional samples). `graphs` (not owned; may be
// null): the network's forward passes replay CUDA graphs (diffusion/network.h).
DenoiseFn model_denoise_fn(Denoiser model, const DiffusionSetup& setup, const at::Tensor& labels,
                           const InferenceRecipe& recipe, NetworkGraphs* graphs = nullptr);

}  // namespace noisesched

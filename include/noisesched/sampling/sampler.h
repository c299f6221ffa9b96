// noisesched/sampling/sampler.h: samplers with one signature, and the model as a denoise callback.
//
// A sampler takes a denoise callback, the starting noise, a time grid, the inference schedule and a
// generator, and returns the last x0 estimate (in the model's scaled space, i.e. b x0). Guidance,
// normalisation, self-conditioning and x0 clipping live inside the callback, so samplers never see
// a model (SPEC section 6; the shape follows k-diffusion and stable-diffusion.cpp).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "noisesched/diffusion/parameterization.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/schedule/sampler_step.h"
#include "noisesched/schedule/schedule.h"
#include "noisesched/schedule/time_grid.h"

namespace noisesched {

// The point of the grid at which the callback is asked for estimates.
struct DenoiseQuery {
  double t;
  Variances v;  // from the inference schedule
  int step;     // 0-based index in the grid
};

// z: [B, C, H, W] in the scaled space -> x0 (clipped to [-b, b]) and eps consistent with it.
using DenoiseFn = std::function<Prediction(const at::Tensor& z, const DenoiseQuery& query)>;

// Runs a sampler from z_start over `grid`; returns the last x0 estimate. First-order samplers
// apply first_order_step; DPM-Solver++(2M) works in lambda = logSNR / 2 with the data
// prediction (Lu et al. 2022, multistep, first order on its first step); Heun integrates the
// probability-flow ODE in EDM's sigma = s / a with x / a (Karras et al. 2022, Algorithm 1:
// Euler plus a trapezoidal correction, 2 N - 1 evaluations; a step out of the clipped end of a
// schedule, where sigma stands for infinity, is Euler only and saves one evaluation).
at::Tensor run_sampler(const SamplerSettings& sampler, const DenoiseFn& denoise,
                       const at::Tensor& z_start, const std::vector<TimeStep>& grid,
                       const Schedule& schedule, at::Generator& generator);

// A trained network as a denoise callback: normalises z as in training, conditions on the noise
// level, applies classifier-free guidance (1 + w) cond - w uncond on the network output when
// guidance != 0, carries self-conditioning from call to call, clips x0 to [-b, b] and recomputes
// eps from it. `labels` [B] int64 (the null class K for unconditional samples).
DenoiseFn model_denoise_fn(Denoiser model, const DiffusionSetup& setup, const at::Tensor& labels,
                           double guidance);

}  // namespace noisesched

// noisesched/diffusion/network.h: the one way a denoising network is asked for a prediction.
//
// predict() normalises z, computes the noise level the network is conditioned on, runs the
// network (twice as wide with classifier-free guidance: conditional and null-class halves),
// combines the guided output, converts eps/x0/v into x0 and eps estimates, clips x0 to [-b, b] and
// recomputes eps from it, and forms the self-conditioning signal for the next pass. Training's
// self-conditioning pass, its trained pass and every sampler call it, so what the network sees
// at sampling is by construction what it saw in training. It is also the place for a precision
// policy (autocast) on accelerators.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "noisesched/diffusion/parameterization.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"

namespace noisesched {

struct PredictOptions {
  double guidance = 0.0;  // w: (1 + w) cond - w uncond on the network output; 0: one pass
  bool clip = true;       // clip x0 to [-b, b] and recompute eps from it
  bool estimate = true;   // form x0/eps and the self-conditioning signal (training's trained
                          // pass only needs the raw output)
};

struct NetworkPrediction {
  at::Tensor output;    // [B, C, H, W] the network's target output (guided when guidance != 0)
  at::Tensor latents;   // RIN's final latents ([B or 2B, M + 2, D]); undefined for the U-Net
  Prediction estimate;  // x0 (clipped when asked) and eps consistent with it, [B, C, H, W]
  // What to pass as `self_cond` to the next call ([2B, ...] with guidance, one per half);
  // undefined when setup.self_condition is false.
  at::Tensor self_cond;
};

// z [B, C, H, W] in the scaled space (before normalisation); v [B] the variances of each example
// (gamma and 1 - gamma, each at full precision); labels [B] int64 in [0, K]; self_cond: the
// previous call's signal or undefined (zeros).
NetworkPrediction predict(DenoiserImpl& model, const DiffusionSetup& setup, const at::Tensor& z,
                          const std::vector<Variances>& v, const at::Tensor& labels,
                          const at::Tensor& self_cond, const PredictOptions& options);

}  // namespace noisesched

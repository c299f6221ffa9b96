// noisesched/diffusion/process.h: the forward process of Chen (2023), Algorithm 2.
//
//   x0 in [-1, 1] (channels first), scaled by b;  t ~ U(0, 1) per example;
//   z = sqrt(gamma(t)) b x0 + sqrt(1 - gamma(t)) eps;  x_in = normalise(z);
//   the network sees x_in and the noise level, never t.
//
// Noise level: the network is conditioned on the effective logSNR ln(b^2 gamma / (1 - gamma)) of
// the input it sees, clamped to [-kNoiseLevelBound, kNoiseLevelBound]; training and sampling both
// use noise_level() so the sampling schedule can differ from the training one.
//
// Normalisation (applied identically at sampling): empirical divides z by its own standard
// deviation over (C, H, W); analytic multiplies by 1 / sqrt((b^2 - 1) gamma + 1); none.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "noisesched/config/run_spec.h"
#include "noisesched/diffusion/parameterization.h"
#include "noisesched/schedule/input_scale.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {

inline constexpr double kNoiseLevelBound = 40.0;

// Effective logSNR of gamma under input scale b, clamped for the embedding.
double noise_level(const Variances& v, double b);

// The per-example factor f [B, 1, 1, 1] with x_in = f z: z [B, C, H, W], gamma [B] (per
// example; used by the analytic mode only). Any z [B, ...] works alike (f [B, 1, ..., 1]).
at::Tensor normalization_factor(const at::Tensor& z, const std::vector<double>& gamma, double b,
                                Normalization mode);

// x_in = normalization_factor(...) z.
at::Tensor normalize_input(const at::Tensor& z, const std::vector<double>& gamma, double b,
                           Normalization mode);

// [B, 1, 1, 1] tensor of per-example values, on like's device and in its dtype (for like
// [B, ...] of another number of dimensions, [B, 1, ..., 1] with as many).
at::Tensor per_example(const std::vector<double>& values, const at::Tensor& like);

// A noised batch, everything per example. What the network sees is made from it by
// predict() (diffusion/network.h), the same way at training and at sampling.
struct NoisedBatch {
  at::Tensor z;                // [B, C, H, W] before normalisation
  std::vector<Variances> v;    // [B] gamma and 1 - gamma of each example
  at::Tensor a, s;             // [B, 1, 1, 1] sqrt(gamma), sqrt(1 - gamma)
  std::vector<double> logsnr;  // [B] effective logSNR, unclamped (for per-level loss buckets)
};

// Noises x0_scaled (= b x0) at times t (CPU doubles in [0, 1]) with noise eps.
NoisedBatch add_noise(const DiffusionSetup& setup, const at::Tensor& x0_scaled,
                      const std::vector<double>& t, const at::Tensor& eps);

}  // namespace noisesched

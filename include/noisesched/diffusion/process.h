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
#include <c10/core/Device.h>

#include <cstdint>
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

// The per-example coefficients of a batch at its noise levels, on the batch's device. They are
// computed on the host from the schedule (LibTorch-free maths) and reach the device in one copy,
// so the device work that uses them reads no host value: a CUDA graph captures that work once and
// replays it after new rows are copied into the same tensor (train/engine.h).
struct NoiseLevels {
  enum Row : std::int64_t {
    kA,         // sqrt(gamma)
    kS,         // sqrt(1 - gamma)
    kLevel,     // noise_level(): the clamped effective logSNR the network is conditioned on
    kAnalytic,  // analytic_normalizer(gamma, b)
    kRows
  };
  at::Tensor rows;  // [kRows, B] float64

  std::int64_t size() const { return rows.size(1); }
  // Row `row` as [B, 1, ..., 1] in like's dtype (like [B, ...]); the values are those per_example()
  // makes from the same doubles.
  at::Tensor per_example(Row row, const at::Tensor& like) const;
  // The batch twice over (classifier-free guidance's conditional and unconditional halves).
  NoiseLevels twice() const;
};

// Writes the rows for `v` under input scale b into out[row * v.size() + i] (kRows * v.size()
// doubles).
void write_noise_level_rows(const std::vector<Variances>& v, double b, double* out);

// NoiseLevels for `v` under input scale b on `device` (one copy from the host).
NoiseLevels noise_levels(const std::vector<Variances>& v, double b, const c10::Device& device);

// normalization_factor() from the device rows (the analytic mode reads kAnalytic).
at::Tensor normalization_factor(const at::Tensor& z, const NoiseLevels& levels, Normalization mode);

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
  NoiseLevels levels;          // the same on the device
  at::Tensor a, s;             // [B, 1, 1, 1] sqrt(gamma), sqrt(1 - gamma)
  std::vector<double> logsnr;  // [B] effective logSNR, unclamped (for per-level loss buckets)
};

// The variances and the unclamped effective logSNR (loss buckets) at times t.
struct NoiseDraw {
  std::vector<Variances> v;
  std::vector<double> logsnr;
};
NoiseDraw variances_at_times(const DiffusionSetup& setup, const std::vector<double>& t);

// Noises x0_scaled (= b x0) at times t (CPU doubles in [0, 1]) with noise eps.
NoisedBatch add_noise(const DiffusionSetup& setup, const at::Tensor& x0_scaled,
                      const std::vector<double>& t, const at::Tensor& eps);

// The same from levels already on the device (z = a x0 + s eps; nothing read on the host).
NoisedBatch add_noise(const NoiseLevels& levels, const at::Tensor& x0_scaled,
                      const at::Tensor& eps);

}  // namespace noisesched

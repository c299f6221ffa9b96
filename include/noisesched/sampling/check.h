// noisesched/sampling/check.h: samplers against a distribution whose exact denoiser is known.
//
// The data are an isotropic Gaussian mixture on small images, so E[x0 | z] is closed-form. The
// exact denoiser is wrapped as a network (it reads the noise level through the training schedule
// and the normalised input, and answers in the configured target), and the samplers run it
// through the same model_denoise_fn (input scale b, normalisation, clipping, eps recomputation)
// that trained networks use. The samples are compared with the truth, next to the same distances
// for two independent exact samples of the same size: the noise floor a perfect sampler reaches.
#pragma once

#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {

// sum_k weight_k N(mean_k, sd_k^2 I) on [channels, side, side] images (data space, before b).
class GaussianMixture {
 public:
  GaussianMixture(int channels, int side, std::vector<double> weights,
                  std::vector<at::Tensor> means, std::vector<double> sds);
  // Three components (a gradient, a checkerboard, a flat field) on 1x4x4 images, within [-1, 1]
  // to three standard deviations.
  static GaussianMixture reference();

  int dims() const { return channels_ * side_ * side_; }
  int channels() const { return channels_; }
  int side() const { return side_; }
  at::Tensor sample(std::int64_t n, std::uint64_t seed) const;  // [n, C, H, W], float64
  at::Tensor mean() const;                                      // [D]
  at::Tensor covariance() const;                                // [D, D]
  // E[b x0 | z] for z = a b x0 + s eps; z [B, C, H, W], a and s [B] (per example).
  at::Tensor posterior_mean(const at::Tensor& z, const at::Tensor& a, const at::Tensor& s,
                            double b) const;
  std::string describe() const;

 private:
  int channels_, side_;
  std::vector<double> weights_;
  std::vector<at::Tensor> means_;  // [D] each, float64
  std::vector<double> sds_;
};

// The mixture's exact denoiser as a network for `setup` (trained schedule, b, target).
Denoiser exact_mixture_denoiser(const GaussianMixture& mixture, const DiffusionSetup& setup);

struct SampleDistances {
  double mean_error = 0;          // || mean(samples) - mean ||
  double covariance_error = 0;    // || Cov(samples) - Cov ||_F
  double sliced_wasserstein = 0;  // sliced W2 to an independent exact sample (128 directions)
};

// Distances of `samples` [N, ...] from the mixture and from `reference` (an exact sample).
SampleDistances sample_distances(const at::Tensor& samples, const at::Tensor& reference,
                                 const GaussianMixture& mixture, std::uint64_t seed);

struct CheckSamplerOptions {
  InferenceRecipe recipe;  // guidance must be 0: the mixture has no classes
  DiffusionSetup setup;    // what the "network" was trained with
  int samples = 4000;
  std::uint64_t seed = 0;
};

struct CheckSamplerResult {
  CheckSamplerOptions options;
  int dims = 0;
  std::string data;
  SampleDistances sampler;
  SampleDistances floor;  // two independent exact samples of the same size
  nlohmann::ordered_json to_json() const;
  std::string to_text() const;
};

CheckSamplerResult check_sampler(const CheckSamplerOptions& options);

}  // namespace noisesched

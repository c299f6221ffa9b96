// noisesched/schedule/sampler_step.h: the scalar coefficients of one sampler step (torch-free).
//
// Every first-order step is written as  x_next = c_x x_t + c_eps eps_hat + noise_std z,
// where eps_hat is recomputed from the clipped x0 estimate, so the formula holds after clipping
// too (x0_hat = (x_t - s eps_hat) / a). With a = sqrt(gamma_now), s = sqrt(1 - gamma_now) and
// a', s' for gamma_next (SPEC section 6):
//   DDIM (eta = 0):  x_next = a' x0_hat + s' eps_hat  =>  c_x = a'/a, c_eps = s' - a' s / a
//   DDPM:            alpha_s = gamma_now / gamma_next,
//                    x_next = (x_t - (1 - alpha_s) / s eps_hat) / sqrt(alpha_s) + std z
//                    std^2 = 1 - alpha_s ("large") or (1 - gamma_next)/(1 - gamma_now) (1 -
//                    alpha_s)
//                    ("small"); no noise on the last step.
#pragma once

#include <string>

#include "noisesched/schedule/schedule.h"

namespace noisesched {

struct StepCoefficients {
  double c_x = 1.0;
  double c_eps = 0.0;
  double noise_std = 0.0;
};

enum class DdpmVariance { kLarge, kSmall };

// Throws when the step does not go toward less noise (gamma_next < gamma_now).
StepCoefficients ddim_step(const Variances& now, const Variances& next);
StepCoefficients ddpm_step(const Variances& now, const Variances& next, DdpmVariance variance,
                           bool last_step);

// The samplers by name: ddim (eta = 0), ddpm (large variance, the official default) and
// ddpm_small.
enum class SamplerKind { kDdim, kDdpm, kDdpmSmall };

// Throws listing the valid names.
SamplerKind parse_sampler(const std::string& name);
std::string to_string(SamplerKind kind);

// The coefficients sampler `kind` applies at one step.
StepCoefficients sampler_step(SamplerKind kind, const Variances& now, const Variances& next,
                              bool last_step);

}  // namespace noisesched

// noisesched/schedule/sampler_step.h: samplers by name and the scalar coefficients of a step.
//
// Torch-free: tensor code only applies what is computed here. Every first-order step is written
//   x_next = c_x x_t + c_eps eps_hat + noise_std z,
// where eps_hat is recomputed from the clipped x0 estimate, so the formula holds after clipping
// too (x0_hat = (x_t - s eps_hat) / a). With a = sqrt(gamma_now), s = sqrt(1 - gamma_now) and
// a', s' for gamma_next (SPEC section 6; Song et al. 2021 for eta):
//   DDIM:  sigma^2 = eta^2 (1 - gamma') / (1 - gamma) (1 - gamma / gamma'),
//          x_next = a' x0_hat + sqrt(1 - gamma' - sigma^2) eps_hat + sigma z
//          => c_x = a'/a, c_eps = sqrt(1 - gamma' - sigma^2) - a' s / a, noise_std = sigma
//   DDPM:  alpha_s = gamma / gamma',
//          x_next = (x_t - (1 - alpha_s) / s eps_hat) / sqrt(alpha_s) + std z,
//          std^2 = 1 - alpha_s ("large", `ddpm`) or (1 - gamma') / (1 - gamma) (1 - alpha_s)
//          ("small", `ddpm_small`, the same as DDIM with eta = 1)
// No noise on the last step. DPM-Solver++(2M) (Lu et al. 2022) and Heun on the probability-flow
// ODE (Karras et al. 2022) are second order; their first-order part is the DDIM (eta = 0) step,
// which is what first_order_step reports for them.
#pragma once

#include <string>
#include <vector>

#include "noisesched/schedule/schedule.h"
#include "noisesched/schedule/time_grid.h"

namespace noisesched {

struct StepCoefficients {
  double c_x = 1.0;
  double c_eps = 0.0;
  double noise_std = 0.0;
};

enum class DdpmVariance { kLarge, kSmall };

// Throws when the step does not go toward less noise (gamma_next < gamma_now).
StepCoefficients ddim_step(const Variances& now, const Variances& next, double eta = 0.0,
                           bool last_step = false);
StepCoefficients ddpm_step(const Variances& now, const Variances& next, DdpmVariance variance,
                           bool last_step);

// The samplers by name: ddim (with eta), ddpm (large variance, the official default),
// ddpm_small, dpmpp_2m, heun.
enum class SamplerKind { kDdim, kDdpm, kDdpmSmall, kDpmSolver2M, kHeun };

// Throws listing the valid names.
SamplerKind parse_sampler(const std::string& name);
std::string to_string(SamplerKind kind);
// "ddim, ddpm, ddpm_small, dpmpp_2m, heun"
std::string sampler_names();

// A sampler and its options.
struct SamplerSettings {
  SamplerKind kind = SamplerKind::kDdpm;
  double eta = 0.0;  // DDIM only: 0 deterministic, 1 = ddpm_small
};

// Throws when eta is negative or set for a sampler other than DDIM.
void validate(const SamplerSettings& settings);

// The first-order step a sampler takes from `now` to `next` (see above).
StepCoefficients first_order_step(const SamplerSettings& settings, const Variances& now,
                                  const Variances& next, bool last_step);

// Whether Heun corrects its Euler step from `now` to `next`: not into gamma = 1 (the last step),
// and not out of the clipped end of the schedule (gamma = clip_min stands for infinite noise:
// the Euler step is exact there and the trapezoid would multiply the error by sigma/sigma').
bool heun_corrects(const Variances& now, const Variances& next, double clip_min);

// Network evaluations a sampler makes over `grid` (one per step; Heun one more per correction).
int model_evaluations(SamplerKind kind, const std::vector<TimeStep>& grid,
                      const Schedule& schedule);

}  // namespace noisesched

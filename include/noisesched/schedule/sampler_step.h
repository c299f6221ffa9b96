// noisesched/schedule/sampler_step.h: samplers by name and every scalar coefficient they apply.
//
// Torch-free, double precision: plan_sampler() turns (sampler, steps, td, inference schedule) into
// one SamplerStep per grid point, and the tensor code (sampling/sampler.h) only applies them, the
// same way for every sampler:
//
//   x0, eps = model(z, t_eval)                      (eps recomputed from the clipped x0)
//   z'  = c_z z + c_x0 x0 + c_eps eps + c_x0_prev x0_prev + noise_std n
//   if correct:  eps' = model(z', t_next).eps;  z' += c_correct (eps' - eps)      (Heun)
//   the next step evaluates the model on z' at its own grid time (td > 0 relabels z' with a noisier
//   time, as in the official code); the last step's x0 is the result.
//
// With a = sqrt(gamma), s = sqrt(1 - gamma) at t_eval and a', s' at t_next, lambda = ln(a / s) and
// h = lambda' - lambda:
//   DDIM (Song et al. 2021, eq. 12): sigma^2 = eta^2 (s'^2 / s^2) (1 - gamma / gamma');
//        z' = a' x0 + sqrt(s'^2 - sigma^2) eps + sigma n
//   DDPM (Ho et al. 2020, eq. 7; SPEC section 6): alpha_s = gamma / gamma'; the posterior mean
//        (z - (1 - alpha_s) / s eps) / sqrt(alpha_s), written in z and x0 so that no coefficient
//        grows like 1 / a: c_z = sqrt(alpha_s) s'^2 / s^2, c_x0 = a' (1 - alpha_s) / s^2;
//        noise variance 1 - alpha_s ("large", `ddpm`) or (s'^2 / s^2)(1 - alpha_s) ("small",
//        `ddpm_small`, the same as DDIM with eta = 1)
//   DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2): z' = (s'/s) z - a' expm1(-h) D with
//        D = x0 (first order) or (1 + 1/(2r)) x0 - 1/(2r) x0_prev, r = h_prev / h, where h_prev is
//        the lambda gap between the previous evaluation point and this one (not the previous
//        step's length, which differs when td > 0)
//   Heun (Karras et al. 2022, Algorithm 1) on the probability-flow ODE dx/dsigma = eps with
//        x = z / a, sigma = s / a, written for z: Euler z' = a' x0 + s' eps (the DDIM step);
//        trapezoidal correction c_correct = a' (sigma' - sigma) / 2 = (s' - a' s / a) / 2
//
// Degenerate steps, one rule for every sampler (each row names the rule it used):
//   - "zero gap": |h| <= kZeroGap (consecutive grid points inside a clipped end of the schedule,
//     both at clip_min, or one rounding step apart next to it): the identity, z' = z.
//   - "clean": gamma = 1 at t_eval (the schedule is exactly noise-free there): z' = z.
//   - "to clean": gamma' = 1 before the last step (td > 0 or a schedule that reaches 1 early):
//     z' = x0, no noise (h = inf; every sampler's step ends on its data estimate).
//   - DPM-Solver++(2M) is first order ("first order") on its first step, after an evaluation at
//     gamma = clip_min, and whenever h is infinite or r = h_prev / h < kMinMultistepRatio (its
//     linear extrapolation would multiply the model's error by 1/(2r)).
//   - Heun does not correct ("euler") into gamma' = 1, out of gamma = clip_min, or over a step
//     with sigma / sigma' > kMaxHeunSigmaRatio: from (nearly) pure noise the Euler step is
//     already close to exact and the trapezoid would multiply the model's error in eps' - eps
//     by about sigma / sigma'.
// A step toward more noise (gamma' < gamma) is an error: schedules decrease in t.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "noisesched/common/names.h"
#include "noisesched/schedule/schedule.h"
#include "noisesched/schedule/time_grid.h"

namespace noisesched {

inline constexpr double kZeroGap = 1e-9;            // lambda gap treated as no step
inline constexpr double kMinMultistepRatio = 0.1;   // DPM-Solver++(2M): r below this -> order 1
inline constexpr double kMaxHeunSigmaRatio = 10.0;  // Heun: sigma / sigma' above this -> Euler

// The samplers: ddim (with eta), ddpm (large variance, the official default), ddpm_small,
// dpmpp_2m, heun.
enum class SamplerKind { kDdim, kDdpm, kDdpmSmall, kDpmSolver2M, kHeun };

const NameTable<SamplerKind>& sampler_names_table();
SamplerKind parse_sampler(std::string_view name);  // throws listing the valid names
std::string to_string(SamplerKind kind);

// One step of a planned sampler run (see the file comment).
struct SamplerStep {
  int index = 0;
  double t_eval = 1.0;  // grid time the model is evaluated at
  double t_next = 0.0;  // time the update lands at (before the next step relabels it)
  Variances eval, next;
  bool last = false;  // no update: the result is this evaluation's x0 estimate
  double c_z = 1.0, c_x0 = 0.0, c_eps = 0.0, c_x0_prev = 0.0, noise_std = 0.0;
  bool correct = false;  // Heun: evaluate again at (z', t_next) and correct
  double c_correct = 0.0;
  int order = 1;          // 2: multistep (dpmpp_2m) or corrected (heun)
  const char* rule = "";  // the degenerate-step rule applied, or ""
};

// The whole run. Throws on invalid input (steps < 1, td < 0 or not finite, eta < 0 or > 1, eta
// set for a sampler other than DDIM) and on a step toward more noise.
std::vector<SamplerStep> plan_sampler(SamplerKind kind, double eta, int steps, double td,
                                      const Schedule& schedule);

// Network evaluations the plan makes (one per step, one more per Heun correction).
int model_evaluations(const std::vector<SamplerStep>& plan);

}  // namespace noisesched

// Sampler step coefficients (see sampler_step.h).
#include "noisesched/schedule/sampler_step.h"

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

void check_direction(const Variances& now, const Variances& next) {
  if (!(next.gamma >= now.gamma)) {
    throw Error("sampler step from gamma " + format_exact(now.gamma) + " to " +
                format_exact(next.gamma) + " adds noise; steps must go toward gamma = 1");
  }
}

}  // namespace

StepCoefficients ddim_step(const Variances& now, const Variances& next) {
  check_direction(now, next);
  const double a = std::sqrt(now.gamma), s = std::sqrt(now.one_minus);
  const double a_next = std::sqrt(next.gamma), s_next = std::sqrt(next.one_minus);
  return {a_next / a, s_next - a_next * s / a, 0.0};
}

StepCoefficients ddpm_step(const Variances& now, const Variances& next, DdpmVariance variance,
                           bool last_step) {
  check_direction(now, next);
  const double alpha = now.gamma / next.gamma;
  // 1 - alpha_s = (gamma_next - gamma_now) / gamma_next, formed without cancellation from
  // the (1 - gamma) values, which keep their precision near gamma = 1.
  const double one_minus_alpha = (now.one_minus - next.one_minus) / next.gamma;
  const double sqrt_alpha = std::sqrt(alpha);
  StepCoefficients c;
  c.c_x = 1.0 / sqrt_alpha;
  c.c_eps = -one_minus_alpha / std::sqrt(now.one_minus) / sqrt_alpha;
  if (!last_step) {
    const double variance_value = variance == DdpmVariance::kLarge
                                      ? one_minus_alpha
                                      : next.one_minus / now.one_minus * one_minus_alpha;
    c.noise_std = std::sqrt(std::max(0.0, variance_value));
  }
  return c;
}

SamplerKind parse_sampler(const std::string& name) {
  if (name == "ddim") return SamplerKind::kDdim;
  if (name == "ddpm") return SamplerKind::kDdpm;
  if (name == "ddpm_small") return SamplerKind::kDdpmSmall;
  throw Error("sampler '" + name + "' is not known; valid: ddim, ddpm, ddpm_small");
}

std::string to_string(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kDdim:
      return "ddim";
    case SamplerKind::kDdpm:
      return "ddpm";
    case SamplerKind::kDdpmSmall:
      return "ddpm_small";
  }
  return "ddim";
}

StepCoefficients sampler_step(SamplerKind kind, const Variances& now, const Variances& next,
                              bool last_step) {
  switch (kind) {
    case SamplerKind::kDdim:
      return ddim_step(now, next);
    case SamplerKind::kDdpm:
      return ddpm_step(now, next, DdpmVariance::kLarge, last_step);
    case SamplerKind::kDdpmSmall:
      return ddpm_step(now, next, DdpmVariance::kSmall, last_step);
  }
  throw Error("unknown sampler");
}

}  // namespace noisesched

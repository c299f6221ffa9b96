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

// 1 - gamma / gamma' = (gamma' - gamma) / gamma', formed from the (1 - gamma) values, which keep
// their precision near gamma = 1.
double one_minus_alpha_s(const Variances& now, const Variances& next) {
  return (now.one_minus - next.one_minus) / next.gamma;
}

}  // namespace

StepCoefficients ddim_step(const Variances& now, const Variances& next, double eta,
                           bool last_step) {
  check_direction(now, next);
  const double a = std::sqrt(now.gamma), s = std::sqrt(now.one_minus);
  const double a_next = std::sqrt(next.gamma);
  const double variance = last_step || eta == 0.0 ? 0.0
                                                  : eta * eta * next.one_minus / now.one_minus *
                                                        one_minus_alpha_s(now, next);
  const double s_next = std::sqrt(std::max(0.0, next.one_minus - variance));
  return {a_next / a, s_next - a_next * s / a, std::sqrt(variance)};
}

StepCoefficients ddpm_step(const Variances& now, const Variances& next, DdpmVariance variance,
                           bool last_step) {
  check_direction(now, next);
  const double alpha = now.gamma / next.gamma;
  const double one_minus_alpha = one_minus_alpha_s(now, next);
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
  if (name == "dpmpp_2m") return SamplerKind::kDpmSolver2M;
  if (name == "heun") return SamplerKind::kHeun;
  throw Error("sampler '" + name + "' is not known; valid: " + sampler_names());
}

std::string to_string(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kDdim:
      return "ddim";
    case SamplerKind::kDdpm:
      return "ddpm";
    case SamplerKind::kDdpmSmall:
      return "ddpm_small";
    case SamplerKind::kDpmSolver2M:
      return "dpmpp_2m";
    case SamplerKind::kHeun:
      return "heun";
  }
  return "ddpm";
}

std::string sampler_names() { return "ddim, ddpm, ddpm_small, dpmpp_2m, heun"; }

void validate(const SamplerSettings& settings) {
  if (!(settings.eta >= 0.0) || !std::isfinite(settings.eta)) {
    throw Error("eta must be >= 0 (got " + format_exact(settings.eta) + ")");
  }
  if (settings.eta != 0.0 && settings.kind != SamplerKind::kDdim) {
    throw Error("eta applies to ddim only (sampler " + to_string(settings.kind) + ")");
  }
}

StepCoefficients first_order_step(const SamplerSettings& settings, const Variances& now,
                                  const Variances& next, bool last_step) {
  switch (settings.kind) {
    case SamplerKind::kDdim:
      return ddim_step(now, next, settings.eta, last_step);
    case SamplerKind::kDdpm:
      return ddpm_step(now, next, DdpmVariance::kLarge, last_step);
    case SamplerKind::kDdpmSmall:
      return ddpm_step(now, next, DdpmVariance::kSmall, last_step);
    case SamplerKind::kDpmSolver2M:
    case SamplerKind::kHeun:
      return ddim_step(now, next, 0.0, last_step);
  }
  throw Error("unknown sampler");
}

bool heun_corrects(const Variances& now, const Variances& next, double clip_min) {
  return next.one_minus > 0 && now.gamma > clip_min;
}

int model_evaluations(SamplerKind kind, const std::vector<TimeStep>& grid,
                      const Schedule& schedule) {
  int evaluations = static_cast<int>(grid.size());
  if (kind != SamplerKind::kHeun) return evaluations;
  for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
    evaluations += heun_corrects(schedule.variances(grid[k].t_now),
                                 schedule.variances(grid[k].t_next), schedule.clip_min());
  }
  return evaluations;
}

}  // namespace noisesched

// Sampler step coefficients (see sampler_step.h).
#include "noisesched/schedule/sampler_step.h"

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

// lambda = ln(a / s) = logSNR / 2, from the two variances at full precision.
double half_logsnr(const Variances& v) { return 0.5 * (std::log(v.gamma) - std::log(v.one_minus)); }

// 1 - gamma / gamma' = (gamma' - gamma) / gamma', from whichever of gamma and 1 - gamma holds
// its precision: the (1 - gamma) values near gamma = 1, the gammas near gamma = 0.
double one_minus_alpha_s(const Variances& now, const Variances& next) {
  const double difference =
      next.gamma < 0.5 ? next.gamma - now.gamma : now.one_minus - next.one_minus;
  return difference / next.gamma;
}

void identity(SamplerStep& step, const char* rule) {
  step.c_z = 1.0;
  step.rule = rule;
}

void to_clean(SamplerStep& step) {
  step.c_z = 0.0;
  step.c_x0 = 1.0;
  step.rule = "to clean";
}

void ddim(SamplerStep& step, double eta) {
  const Variances& v = step.eval;
  const Variances& n = step.next;
  const double variance =
      eta == 0.0 ? 0.0 : eta * eta * n.one_minus / v.one_minus * one_minus_alpha_s(v, n);
  step.c_z = 0.0;
  step.c_x0 = std::sqrt(n.gamma);
  step.c_eps = std::sqrt(std::max(0.0, n.one_minus - variance));
  step.noise_std = std::sqrt(variance);
}

void ddpm(SamplerStep& step, bool large) {
  const Variances& v = step.eval;
  const Variances& n = step.next;
  const double alpha = v.gamma / n.gamma;
  const double one_minus_alpha = one_minus_alpha_s(v, n);
  step.c_z = std::sqrt(alpha) * n.one_minus / v.one_minus;
  step.c_x0 = std::sqrt(n.gamma) * one_minus_alpha / v.one_minus;
  step.c_eps = 0.0;
  const double variance = large ? one_minus_alpha : n.one_minus / v.one_minus * one_minus_alpha;
  step.noise_std = std::sqrt(std::max(0.0, variance));
}

}  // namespace

const NameTable<SamplerKind>& sampler_names_table() {
  static const NameTable<SamplerKind> table(
      "sampler",
      {{SamplerKind::kDdim, "ddim", "DDIM, deterministic (eta = 0) or with noise eta in (0, 1]"},
       {SamplerKind::kDdpm, "ddpm", "DDPM ancestral, large variance 1 - alpha_s (official)"},
       {SamplerKind::kDdpmSmall, "ddpm_small", "DDPM ancestral, posterior variance"},
       {SamplerKind::kDpmSolver2M, "dpmpp_2m", "DPM-Solver++(2M), second-order multistep ODE"},
       {SamplerKind::kHeun, "heun", "Heun on the probability-flow ODE, 2 evaluations per step"}});
  return table;
}

SamplerKind parse_sampler(std::string_view name) { return sampler_names_table().parse(name); }

std::string to_string(SamplerKind kind) { return sampler_names_table().name(kind); }

std::vector<SamplerStep> plan_sampler(SamplerKind kind, double eta, int steps, double td,
                                      const Schedule& schedule) {
  if (!std::isfinite(eta) || eta < 0.0 || eta > 1.0) {
    throw Error("eta must be in [0, 1] (got " + format_exact(eta) + ")");
  }
  if (eta != 0.0 && kind != SamplerKind::kDdim) {
    throw Error("eta applies to ddim only (sampler " + to_string(kind) + ")");
  }
  const std::vector<TimeStep> grid = sampling_time_grid(steps, td);
  std::vector<SamplerStep> plan;
  plan.reserve(grid.size());
  for (std::size_t k = 0; k < grid.size(); ++k) {
    SamplerStep step;
    step.index = static_cast<int>(k);
    step.t_eval = grid[k].t_now;
    step.t_next = grid[k].t_next;
    step.eval = schedule.variances(step.t_eval);
    step.next = schedule.variances(step.t_next);
    step.last = k + 1 == grid.size();
    if (step.last) {
      plan.push_back(step);
      break;
    }
    const Variances& v = step.eval;
    const Variances& n = step.next;
    if (!(n.gamma >= v.gamma)) {
      throw Error("sampler step " + std::to_string(k) + " from gamma " + format_exact(v.gamma) +
                  " (t = " + format_exact(step.t_eval) + ") to " + format_exact(n.gamma) +
                  " adds noise; the inference schedule must decrease in t");
    }
    // The lambda gap of this step; a gap of rounding size (two grid points on a clipped end, or
    // one ulp apart next to it) is no step at all.
    const double h = half_logsnr(n) - half_logsnr(v);
    if (v.one_minus <= 0.0) {
      identity(step, "clean");
    } else if (std::abs(h) <= kZeroGap) {
      identity(step, "zero gap");
    } else if (n.one_minus <= 0.0) {
      to_clean(step);
    } else {
      switch (kind) {
        case SamplerKind::kDdim:
          ddim(step, eta);
          break;
        case SamplerKind::kDdpm:
        case SamplerKind::kDdpmSmall:
          ddpm(step, kind == SamplerKind::kDdpm);
          break;
        case SamplerKind::kDpmSolver2M: {
          const double a_next = std::sqrt(n.gamma);
          step.c_z = std::sqrt(n.one_minus / v.one_minus);
          step.c_x0 = -a_next * std::expm1(-h);
          // h_prev: the lambda gap between the previous evaluation point and this one. The
          // multistep extrapolates D linearly in lambda over h / 2 from points h_prev apart; it
          // needs a previous estimate from finite noise and r = h_prev / h >= kMinMultistepRatio
          // (else the model's error is multiplied by up to 1/(2r)).
          const double h_prev = k == 0 ? 0.0 : half_logsnr(v) - half_logsnr(plan[k - 1].eval);
          if (k > 0 && plan[k - 1].eval.gamma > schedule.clip_min() && std::isfinite(h_prev) &&
              std::isfinite(h) && h > kZeroGap && h_prev >= kMinMultistepRatio * h) {
            const double half_inverse_r = h / (2.0 * h_prev);
            step.c_x0_prev = a_next * std::expm1(-h) * half_inverse_r;
            step.c_x0 *= 1.0 + half_inverse_r;
            step.order = 2;
          } else if (k > 0) {
            step.rule = "first order";
          }
          break;
        }
        case SamplerKind::kHeun: {
          ddim(step, 0.0);
          const double sigma_ratio =
              std::sqrt(v.one_minus / v.gamma) / std::sqrt(n.one_minus / n.gamma);
          if (v.gamma > schedule.clip_min() && sigma_ratio <= kMaxHeunSigmaRatio) {
            const double a = std::sqrt(v.gamma), s = std::sqrt(v.one_minus);
            step.correct = true;
            step.c_correct = 0.5 * (std::sqrt(n.one_minus) - std::sqrt(n.gamma) * s / a);
            step.order = 2;
          } else {
            step.rule = "euler";
          }
          break;
        }
      }
    }
    plan.push_back(step);
  }
  return plan;
}

int model_evaluations(const std::vector<SamplerStep>& plan) {
  int evaluations = 0;
  for (const auto& step : plan) evaluations += 1 + (step.correct ? 1 : 0);
  return evaluations;
}

}  // namespace noisesched

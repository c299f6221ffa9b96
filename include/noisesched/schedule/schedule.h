// noisesched/schedule/schedule.h: noise schedules gamma(t) and everything derived from them.
//
// Conventions (SPEC section 2): t in [0, 1], t = 0 is clean data; gamma(t) is the signal variance
// of x_t = sqrt(gamma) x0 + sqrt(1 - gamma) eps, decreasing from ~1 to ~0 and clipped to
// [clip_min, 1]; logSNR = ln(gamma / (1 - gamma)). Plain double precision, no LibTorch: tensor
// code only applies coefficients computed here.
//
// gamma and 1 - gamma are computed together, each to full relative precision, so logSNR stays
// accurate at both ends (near t = 0, 1 - gamma is tiny and cannot be recovered from gamma).
//
// Ref: T. Chen, "On the Importance of Noise Scheduling for Diffusion Models", 2023, Algorithm 1
//      (simple_linear, cosine, sigmoid); E. Hoogeboom et al., "simple diffusion", 2023, eq. 5-6
//      (shifted cosine); J. Ho et al., "DDPM", 2020, section 4 (linear betas); T. Karras et al.,
//      "Elucidating the Design Space...", 2022, eq. 5 (sigma grid).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace noisesched {

inline constexpr double kDefaultClipMin = 1e-9;

// gamma = alpha^2 (signal variance) and one_minus = sigma^2 = 1 - gamma (noise variance).
struct Variances {
  double gamma = 1.0;
  double one_minus = 0.0;
};

// gamma(t) = 1 - t.
struct SimpleLinearSchedule {};

// v(u) = cos(u pi / 2)^(2 tau); gamma = (v(t (end - start) + start) - v(end)) / (v(start) -
// v(end)). Domain: 0 <= start < end <= 1, tau > 0.
struct CosineSchedule {
  double start = 0.0;
  double end = 1.0;
  double tau = 1.0;
};

// v(u) = sigmoid(u / tau); gamma = (v(end) - v(t (end - start) + start)) / (v(end) - v(start)).
// Domain: start < end, tau > 0.
struct SigmoidSchedule {
  double start = -3.0;
  double end = 3.0;
  double tau = 1.0;
};

// logSNR(t) = -2 ln tan(u_min + t (u_max - u_min)) + 2 ln(ref / res), with
// u_min = atan(exp(-logsnr_max / 2)), u_max = atan(exp(-logsnr_min / 2)); gamma = sigmoid(logSNR).
// Domain: ref > 0, res > 0, logsnr_min < logsnr_max.
struct ShiftedCosineSchedule {
  double ref = 64.0;
  double res = 64.0;
  double logsnr_min = -15.0;
  double logsnr_max = 15.0;
};

// DDPM's betas linspace(beta_start, beta_end, steps); alpha_bar_k = prod_{j<k} (1 - beta_j) sits
// at t = k / steps (alpha_bar_0 = 1 at t = 0) and ln(alpha_bar) is linear between knots.
// Domain: 0 < beta_start <= beta_end < 1, steps a whole number in [1, 1e6].
struct DdpmLinearSchedule {
  double beta_start = 1e-4;
  double beta_end = 0.02;
  double steps = 1000;
};

// EDM sigma(t) = (sigma_min^(1/rho) + t (sigma_max^(1/rho) - sigma_min^(1/rho)))^rho and
// gamma = 1 / (1 + sigma^2). On the sampling grid t_k = 1 - k / N this visits the N + 1 sigmas of
// Karras et al.'s grid from sigma_max down to sigma_min. Domain: 0 < sigma_min < sigma_max, rho >
// 0.
struct KarrasSchedule {
  double sigma_min = 0.002;
  double sigma_max = 80.0;
  double rho = 7.0;
};

using ScheduleParams = std::variant<SimpleLinearSchedule, CosineSchedule, SigmoidSchedule,
                                    ShiftedCosineSchedule, DdpmLinearSchedule, KarrasSchedule>;

// One parameter of a schedule family, for parsing, printing and help text.
struct ScheduleParamInfo {
  std::string name;
  double default_value;
};

// A schedule family: its spec name, parameters in positional order, and a one-line summary.
struct ScheduleFamilyInfo {
  std::string name;
  std::vector<ScheduleParamInfo> params;
  std::string summary;
};

// Every family, in a fixed order (the order of ScheduleParams).
const std::vector<ScheduleFamilyInfo>& schedule_families();

// A validated schedule. Immutable and cheap to copy.
class Schedule {
 public:
  // Throws noisesched::Error naming the offending parameter and its valid range.
  explicit Schedule(ScheduleParams params = SimpleLinearSchedule{},
                    double clip_min = kDefaultClipMin);

  // Parses a spec string: `name`, the official positional form `name@v1,v2,...` (trailing values
  // may be left out) or the named form `name:key=value,...` (any subset of the keys, plus
  // clip_min). Throws naming the problem and the valid names or keys.
  static Schedule parse(std::string_view spec);

  // The canonical spec: `name` or `name:key=value,...` with every parameter, clip_min only when
  // it is not the default; parse(to_string()) gives back the same schedule, bit for bit.
  std::string to_string() const;

  // gamma(t) and 1 - gamma(t) after clipping gamma to [clip_min, 1]; t must lie in [0, 1].
  Variances variances(double t) const;
  double gamma(double t) const { return variances(t).gamma; }
  // ln(gamma / (1 - gamma)); +inf where gamma = 1.
  double logsnr(double t) const;
  // EDM's sigma = sqrt((1 - gamma) / gamma).
  double sigma(double t) const;

  // The smallest t in [0, 1] with logsnr(t) <= logsnr; 0 above logsnr(0), 1 below logsnr(1).
  double t_from_logsnr(double logsnr) const;

  // Density of logSNR when t ~ U(0, 1): |dt / dlogSNR| inside (logsnr(1), logsnr(0)), 0 outside
  // and on the clipped part (where the clip puts a point mass at logsnr(1)).
  double logsnr_density(double logsnr) const;

  const ScheduleParams& params() const { return params_; }
  double clip_min() const { return clip_min_; }
  const ScheduleFamilyInfo& family() const;

  friend bool operator==(const Schedule& a, const Schedule& b);
  friend bool operator!=(const Schedule& a, const Schedule& b) { return !(a == b); }

 private:
  Variances unclipped(double t) const;
  double unclipped_t_from_logsnr(double logsnr) const;
  double dlogsnr_dt(double t, const Variances& v) const;

  ScheduleParams params_;
  double clip_min_;
  double logsnr_at_0_ = 0;  // logsnr(0) and logsnr(1): the range t_from_logsnr clamps to
  double logsnr_at_1_ = 0;
  // DdpmLinearSchedule only: ln(alpha_bar) at the knots t = k / steps, k = 0..steps.
  std::shared_ptr<const std::vector<double>> log_alpha_bar_;
};

}  // namespace noisesched

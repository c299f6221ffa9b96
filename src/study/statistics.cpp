// The settings x seeds comparison of the study (see statistics.h).
#include "noisesched/study/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

// The continued fraction of the regularised incomplete beta function I_x(a, b) (modified Lentz's
// method), which converges fast for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-15;
  double c = 1;
  double d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::abs(d) < kTiny ? kTiny : d);
  double h = d;
  const auto step = [&](double numerator) {  // one term of the fraction; returns its factor
    d = 1 + numerator * d;
    d = 1 / (std::abs(d) < kTiny ? kTiny : d);
    c = 1 + numerator / c;
    if (std::abs(c) < kTiny) c = kTiny;
    h *= c * d;
    return c * d;
  };
  for (int m = 1; m <= 1000; ++m) {
    step(m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)));
    if (std::abs(step(-(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))) - 1) <
        kEpsilon) {
      break;
    }
  }
  return h;
}

// I_x(a, b), the regularised incomplete beta function, for x in [0, 1].
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

}  // namespace

double f_upper_p(double f, double d1, double d2) {
  if (!(d1 >= 1) || !(d2 >= 1)) {
    throw Error("the F distribution needs degrees of freedom >= 1, got " + std::to_string(d1) +
                " and " + std::to_string(d2));
  }
  if (std::isnan(f)) return std::numeric_limits<double>::quiet_NaN();
  if (f <= 0) return 1;
  return incomplete_beta(d2 / 2, d1 / 2, d2 / (d2 + d1 * f));
}

double student_t_two_sided_p(double t, double dof) {
  if (!(dof >= 1)) {
    throw Error("Student's t needs at least 1 degree of freedom, got " + std::to_string(dof));
  }
  return f_upper_p(t * t, 1, dof);
}

SeedBlockFit fit_seed_blocks(const std::vector<std::vector<double>>& fid) {
  const std::size_t settings = fid.size();
  const std::size_t seeds = settings == 0 ? 0 : fid[0].size();
  if (settings < 2 || seeds < 2) {
    throw Error("the seed-block fit needs at least two settings and two seeds, got " +
                std::to_string(settings) + " and " + std::to_string(seeds));
  }
  for (const auto& row : fid) {
    if (row.size() != seeds) throw Error("the seed-block fit needs every setting at every seed");
  }
  double overall = 0;
  std::vector<double> setting_means(settings, 0), seed_means(seeds, 0);
  for (std::size_t i = 0; i < settings; ++i) {
    for (std::size_t j = 0; j < seeds; ++j) {
      setting_means[i] += fid[i][j] / seeds;
      seed_means[j] += fid[i][j] / settings;
      overall += fid[i][j] / (settings * seeds);
    }
  }
  SeedBlockFit fit;
  double squares = 0;
  for (std::size_t i = 0; i < settings; ++i) {
    for (std::size_t j = 0; j < seeds; ++j) {
      const double error = fid[i][j] - setting_means[i] - seed_means[j] + overall;
      squares += error * error;
    }
  }
  fit.settings = static_cast<int>(settings);
  fit.seeds = static_cast<int>(seeds);
  fit.dof = static_cast<int>((settings - 1) * (seeds - 1));
  fit.sigma = std::sqrt(squares / fit.dof);
  double largest = 0;
  for (const auto& row : fid) {
    for (const double v : row) largest = std::max(largest, std::abs(v));
  }
  if (fit.sigma <= 1e-9 * largest) fit.sigma = 0;  // rounding, not error
  double shift_squares = 0;
  for (const double m : seed_means) {
    fit.seed_shifts.push_back(m - overall);
    shift_squares += static_cast<double>(settings) * (m - overall) * (m - overall);
  }
  fit.seed_shift_p =
      fit.sigma > 0
          ? f_upper_p(shift_squares / static_cast<double>(seeds - 1) / (fit.sigma * fit.sigma),
                      static_cast<double>(seeds - 1), fit.dof)
          : std::numeric_limits<double>::quiet_NaN();
  return fit;
}

}  // namespace noisesched

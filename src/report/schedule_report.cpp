// Schedule tables, CSV and figures (see schedule_report.h).
#include "noisesched/report/schedule_report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/schedule/input_scale.h"

namespace noisesched {
namespace {

constexpr int kCurvePoints = 1001;
constexpr int kDensityPoints = 1201;

void check_points(int points) {
  if (points < 2) throw Error("--points must be >= 2 (got " + std::to_string(points) + ")");
}

double grid_t(int i, int points) {
  return i == points - 1 ? 1.0 : static_cast<double>(i) / static_cast<double>(points - 1);
}

}  // namespace

std::string curve_label(const ScheduleCurve& curve) {
  if (!curve.label.empty()) return curve.label;
  std::string label = curve.schedule.to_string();
  if (curve.scale != 1.0) label += ", b=" + format_exact(curve.scale);
  return label;
}

void write_schedule_csv(std::ostream& out, const ScheduleCurve& curve, int points) {
  check_points(points);
  out << "t,gamma,logsnr\n";
  for (int i = 0; i < points; ++i) {
    const double t = grid_t(i, points);
    out << format_exact(t) << ',' << format_exact(curve.schedule.gamma(t)) << ','
        << format_exact(scaled_logsnr(curve.schedule.logsnr(t), curve.scale)) << '\n';
  }
}

void write_schedule_table(std::ostream& out, const ScheduleCurve& curve, int points) {
  check_points(points);
  out << "schedule " << curve.schedule.to_string() << "\n";
  if (curve.scale != 1.0) {
    out << "input scale b = " << format_exact(curve.scale)
        << " (logSNR shifted by 2 ln b = " << format_significant(logsnr_shift(curve.scale), 6)
        << ")\n";
  }
  const int w = 14;
  out << std::setw(8) << "t" << std::setw(w) << "gamma" << std::setw(w) << "sqrt(gamma)"
      << std::setw(w) << "sqrt(1-gamma)" << std::setw(w) << "logSNR" << '\n';
  for (int i = 0; i < points; ++i) {
    const double t = grid_t(i, points);
    const Variances v = curve.schedule.variances(t);
    out << std::setw(8) << format_significant(t, 6) << std::setw(w)
        << format_significant(v.gamma, 6) << std::setw(w)
        << format_significant(std::sqrt(v.gamma), 6) << std::setw(w)
        << format_significant(std::sqrt(v.one_minus), 6) << std::setw(w)
        << format_significant(scaled_logsnr(curve.schedule.logsnr(t), curve.scale), 6) << '\n';
  }
}

void write_sampler_table(std::ostream& out, const InferenceRecipe& recipe, bool csv) {
  const std::vector<SamplerStep> plan = recipe.plan();
  if (csv) {
    out << "step,t_eval,t_next,gamma_eval,gamma_next,c_z,c_x0,c_eps,c_x0_prev,noise_std,"
           "c_correct,order,rule\n";
  } else {
    out << "recipe: " << recipe.to_string() << "\n"
        << "each step: x0, eps = model(z, t_eval); z' = c_z z + c_x0 x0 + c_eps eps + "
           "c_x0_prev x0_prev + noise_std n\n"
        << "heun: eps' = model(z', t_next); z' += c_correct (eps' - eps). The last step's x0 is "
           "the result. "
        << model_evaluations(plan) << " network evaluations.\n";
    const int w = 12;
    out << std::setw(5) << "step";
    for (const char* name : {"t_eval", "t_next", "gamma_eval", "gamma_next", "c_z", "c_x0", "c_eps",
                             "c_x0_prev", "noise_std", "c_correct"}) {
      out << std::setw(w) << name;
    }
    out << std::setw(6) << "order"
        << "  rule\n";
  }
  for (const SamplerStep& s : plan) {
    const double values[] = {s.t_eval, s.t_next, s.eval.gamma, s.next.gamma, s.c_z,
                             s.c_x0,   s.c_eps,  s.c_x0_prev,  s.noise_std,  s.c_correct};
    const std::string rule = s.last ? "result" : s.rule;
    if (csv) {
      out << s.index;
      for (double v : values) out << ',' << format_exact(v);
      out << ',' << s.order << ',' << rule << "\n";
    } else {
      out << std::setw(5) << s.index;
      for (double v : values) out << std::setw(12) << format_significant(v, 6);
      out << std::setw(6) << s.order << "  " << rule << "\n";
    }
  }
}

Figure schedule_figure(const std::vector<ScheduleCurve>& curves, const std::string& title) {
  if (curves.empty()) throw Error("schedule figure: no schedules to draw");
  Panel gamma_panel;
  gamma_panel.title = "signal variance (before input scaling)";
  gamma_panel.xlabel = "t";
  gamma_panel.ylabel = "gamma(t)";
  gamma_panel.xlim = std::pair{0.0, 1.0};
  gamma_panel.ylim = std::pair{-0.02, 1.02};
  Panel logsnr_panel;
  logsnr_panel.title = "logSNR (with input scale b)";
  logsnr_panel.xlabel = "t";
  logsnr_panel.ylabel = "logSNR(t) = ln(b^2 gamma / (1 - gamma))";
  logsnr_panel.xlim = std::pair{0.0, 1.0};
  Panel density_panel;
  density_panel.title = "noise levels trained on (t ~ U(0,1))";
  density_panel.xlabel = "logSNR";
  density_panel.ylabel = "density of logSNR";

  // The density axis spans the curves' logSNR ranges, cut where the tails carry ~no mass.
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& curve : curves) {
    const double shift = logsnr_shift(curve.scale);
    lo = std::min(lo, curve.schedule.logsnr(1.0) + shift);
    hi = std::max(hi, curve.schedule.logsnr(0.001) + shift);
  }
  lo = std::max(lo, -30.0) - 1.0;
  hi = std::min(hi, 30.0) + 1.0;
  density_panel.xlim = std::pair{lo, hi};

  for (const auto& curve : curves) {
    const std::string label = curve_label(curve);
    const double shift = logsnr_shift(curve.scale);
    Series gamma, logsnr, density;
    gamma.label = logsnr.label = density.label = label;
    for (int i = 0; i < kCurvePoints; ++i) {
      const double t = grid_t(i, kCurvePoints);
      gamma.x.push_back(t);
      gamma.y.push_back(curve.schedule.gamma(t));
      logsnr.x.push_back(t);
      logsnr.y.push_back(curve.schedule.logsnr(t) + shift);
    }
    for (int i = 0; i < kDensityPoints; ++i) {
      const double l = lo + (hi - lo) * i / (kDensityPoints - 1);
      density.x.push_back(l);
      density.y.push_back(curve.schedule.logsnr_density(l - shift));
    }
    gamma_panel.series.push_back(std::move(gamma));
    logsnr_panel.series.push_back(std::move(logsnr));
    density_panel.series.push_back(std::move(density));
  }
  Figure figure;
  figure.title = title;
  figure.panels = {std::move(gamma_panel), std::move(logsnr_panel), std::move(density_panel)};
  return figure;
}

}  // namespace noisesched

// noisesched/report/schedule_report.h: what `noisesched schedule` prints and draws.
//
// A curve is a schedule with an input scale b. Rows are taken at t = i / (points - 1); logSNR is
// the effective one, ln(b^2 gamma / (1 - gamma)).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "noisesched/report/figure.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {

struct ScheduleCurve {
  Schedule schedule;
  double scale = 1.0;  // b
  std::string label;   // legend text; empty: the canonical spec and b
};

// Legend text for a curve: its label, else "spec" or "spec, b=0.5".
std::string curve_label(const ScheduleCurve& curve);

// Header `t,gamma,logsnr`, then `points` rows of exact numbers (`inf` where gamma = 1).
void write_schedule_csv(std::ostream& out, const ScheduleCurve& curve, int points);

// An aligned human-readable table of the same rows with sqrt(gamma) and sqrt(1 - gamma).
void write_schedule_table(std::ostream& out, const ScheduleCurve& curve, int points);

// One row per step of recipe.plan() (schedule/sampler_step.h): every coefficient the sampler
// applies, its order and the degenerate-step rule it used. CSV: the header
// `step,t_eval,t_next,gamma_eval,gamma_next,c_z,c_x0,c_eps,c_x0_prev,noise_std,c_correct,order,rule`
// and exact numbers; else an aligned table.
void write_sampler_table(std::ostream& out, const InferenceRecipe& recipe, bool csv);

// Three panels: gamma(t), effective logSNR(t) and the density of logSNR for t ~ U(0, 1).
Figure schedule_figure(const std::vector<ScheduleCurve>& curves, const std::string& title);

}  // namespace noisesched

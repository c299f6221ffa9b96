// What `noisesched schedule` prints: the CSV contract scripts rely on, the table, figure data.
#include "noisesched/report/schedule_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ScheduleCsv, HeaderRowsAndExactValues) {
  const ScheduleCurve curve{Schedule::parse("sigmoid@-3,3,0.9"), 0.5, ""};
  std::ostringstream out;
  write_schedule_csv(out, curve, 11);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[0], "t,gamma,logsnr");
  for (int i = 0; i < 11; ++i) {
    double t = 0, gamma = 0;
    char rest[64] = {0};
    ASSERT_EQ(std::sscanf(lines[i + 1].c_str(), "%lf,%lf,%63s", &t, &gamma, rest), 3)
        << lines[i + 1];
    EXPECT_EQ(t, i == 10 ? 1.0 : i / 10.0);
    EXPECT_EQ(gamma, curve.schedule.gamma(t));  // exact: the printed form reads back bit for bit
    const double logsnr = std::strtod(rest, nullptr);
    EXPECT_EQ(logsnr, curve.schedule.logsnr(t) + 2 * std::log(0.5));
  }
  EXPECT_EQ(lines[1], "0,1,inf");
}

TEST(ScheduleCsv, PointsOptionAndItsBounds) {
  const ScheduleCurve curve{Schedule(), 1.0, ""};
  std::ostringstream out;
  write_schedule_csv(out, curve, 2);
  EXPECT_EQ(out.str(), "t,gamma,logsnr\n0,1,inf\n1,1e-9,-20.72326583594641\n");
  EXPECT_THROW(write_schedule_csv(out, curve, 1), Error);
}

TEST(ScheduleTable, NamesTheScheduleAndTheScale) {
  std::ostringstream out;
  write_schedule_table(out, {Schedule::parse("cosine"), 0.5, ""}, 3);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "schedule cosine:start=0,end=1,tau=1");
  EXPECT_EQ(lines[1], "input scale b = 0.5 (logSNR shifted by 2 ln b = -1.38629)");
  EXPECT_NE(lines[2].find("logSNR"), std::string::npos);
  EXPECT_NE(lines[4].find("-1.38629"), std::string::npos) << lines[4];  // t = 0.5: gamma = 1/2
}

TEST(ScheduleFigure, ThreePanelsWithOneSeriesPerCurve) {
  const std::vector<ScheduleCurve> curves = {{Schedule::parse("cosine"), 1.0, ""},
                                             {Schedule::parse("cosine"), 0.5, ""},
                                             {Schedule::parse("sigmoid@0,3,0.3"), 1.0, "mine"}};
  const Figure figure = schedule_figure(curves, "t");
  ASSERT_EQ(figure.panels.size(), 3u);
  for (const auto& panel : figure.panels) {
    ASSERT_EQ(panel.series.size(), 3u);
    EXPECT_EQ(panel.series[0].label, "cosine:start=0,end=1,tau=1");
    EXPECT_EQ(panel.series[1].label, "cosine:start=0,end=1,tau=1, b=0.5");
    EXPECT_EQ(panel.series[2].label, "mine");
    for (const auto& s : panel.series) EXPECT_EQ(s.x.size(), s.y.size());
  }
  // The logSNR panel shows the input-scale shift: the b = 0.5 curve sits 2 ln 2 lower everywhere.
  const auto& logsnr = figure.panels[1];
  for (std::size_t i = 1; i + 1 < logsnr.series[0].y.size(); i += 97) {
    EXPECT_NEAR(logsnr.series[0].y[i] - logsnr.series[1].y[i], 2 * std::log(2.0), 1e-12);
  }
  // The density panel integrates to at most 1 per curve.
  const auto& density = figure.panels[2];
  for (const auto& s : density.series) {
    double integral = 0;
    for (std::size_t i = 1; i < s.x.size(); ++i)
      integral += (s.x[i] - s.x[i - 1]) * (s.y[i] + s.y[i - 1]) / 2;
    EXPECT_GT(integral, 0.9) << s.label;
    EXPECT_LE(integral, 1.0 + 1e-3) << s.label;
  }
  EXPECT_THROW(schedule_figure({}, "empty"), Error);
}

}  // namespace
}  // namespace noisesched

namespace noisesched {
namespace {

std::vector<std::vector<double>> csv_rows(const std::string& text) {
  std::vector<std::vector<double>> rows;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "step,t_eval,t_next,gamma_eval,gamma_next,c_z,c_x0,c_eps,c_x0_prev,noise_std,"
            "c_correct,order,rule");
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::istringstream fields(line);
    for (std::string f; std::getline(fields, f, ',');)
      row.push_back(std::strtod(f.c_str(), nullptr));
    rows.push_back(row);
  }
  return rows;
}

TEST(SamplerTable, PrintsEveryCoefficientOfThePlanExactly) {
  for (const auto& e : sampler_names_table().entries()) {
    InferenceRecipe recipe;
    recipe.sampler = e.value;
    recipe.steps = 8;
    recipe.schedule = Schedule::parse("cosine@0.2,1,3");
    std::ostringstream out;
    write_sampler_table(out, recipe, true);
    EXPECT_EQ(out.str().substr(0, out.str().find('\n')),
              "step,t_eval,t_next,gamma_eval,gamma_next,c_z,c_x0,c_eps,c_x0_prev,noise_std,"
              "c_correct,order,rule");
    const auto rows = csv_rows(out.str());
    const auto plan = recipe.plan();
    ASSERT_EQ(rows.size(), plan.size()) << e.name;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const auto& r = rows[k];
      const auto& p = plan[k];
      const double expected[] = {static_cast<double>(p.index),
                                 p.t_eval,
                                 p.t_next,
                                 p.eval.gamma,
                                 p.next.gamma,
                                 p.c_z,
                                 p.c_x0,
                                 p.c_eps,
                                 p.c_x0_prev,
                                 p.noise_std,
                                 p.c_correct,
                                 static_cast<double>(p.order)};
      for (int i = 0; i < 12; ++i)
        EXPECT_EQ(r[i], expected[i]) << e.name << " row " << k << " col " << i;
    }
  }
}

TEST(SamplerTable, TimeDifferenceAndEta) {
  std::ostringstream out;
  const auto recipe = InferenceRecipe::parse("ddim eta=1 steps=4 td=1");
  write_sampler_table(out, recipe, true);
  const auto rows = csv_rows(out.str());
  EXPECT_EQ(rows[0][2], 0.5);  // max(1 - (0 + 1 + 1) / 4, 0)
  EXPECT_EQ(rows[2][2], 0.0);
  // eta = 1: the noise of ddpm_small.
  const double g = rows[0][3], gn = rows[0][4];
  EXPECT_NEAR(rows[0][9], std::sqrt((1 - gn) / (1 - g) * (1 - g / gn)), 1e-9);
  std::ostringstream text;
  write_sampler_table(text, recipe, false);
  EXPECT_NE(text.str().find("to clean"), std::string::npos) << text.str();
  InferenceRecipe bad;
  bad.eta = 0.5;  // ddpm
  EXPECT_THROW(write_sampler_table(out, bad, true), Error);
}

}  // namespace
}  // namespace noisesched

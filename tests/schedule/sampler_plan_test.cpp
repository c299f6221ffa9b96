// Sampler plans: every coefficient against the formulas written out independently, the
// degenerate-step rules, and the inference recipe's parser, printer and validation.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "noisesched/common/error.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/config/enums.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/input_scale.h"
#include "noisesched/schedule/sampler_step.h"

namespace noisesched {
namespace {

double lambda(const Variances& v) { return 0.5 * std::log(v.gamma / v.one_minus); }

// Applies a first-order step to numbers: z' = c_z z + c_x0 x0 + c_eps eps (no noise).
double apply(const SamplerStep& s, double z, double x0, double eps) {
  return s.c_z * z + s.c_x0 * x0 + s.c_eps * eps;
}

TEST(SamplerPlan, DdpmMatchesTheEpsFormOfTheOfficialCode) {
  const Schedule schedule = Schedule::parse("cosine");
  for (auto kind : {SamplerKind::kDdpm, SamplerKind::kDdpmSmall}) {
    const auto plan = plan_sampler(kind, 0.0, 20, 0.0, schedule);
    for (const auto& s : plan) {
      if (s.last || s.eval.gamma <= schedule.clip_min()) continue;
      const double g = s.eval.gamma, gn = s.next.gamma;
      const double a = std::sqrt(g), sd = std::sqrt(1 - g);
      const double alpha = g / gn;
      for (double x0 : {-0.7, 0.2}) {
        const double z = 0.4;
        const double eps = (z - a * x0) / sd;
        // SPEC section 6: (z - (1 - alpha_s) / sqrt(1 - gamma) eps) / sqrt(alpha_s)
        const double expected = (z - (1 - alpha) / sd * eps) / std::sqrt(alpha);
        EXPECT_NEAR(apply(s, z, x0, eps), expected, 1e-9 * std::max(1.0, std::abs(expected)))
            << to_string(kind) << " step " << s.index;
      }
      const double variance =
          kind == SamplerKind::kDdpm ? 1 - alpha : (1 - gn) / (1 - g) * (1 - alpha);
      EXPECT_NEAR(s.noise_std, std::sqrt(variance), 1e-12);
    }
  }
}

TEST(SamplerPlan, DdimWithEta) {
  const Schedule schedule = Schedule::parse("sigmoid@-3,3,0.9");
  const auto plan = plan_sampler(SamplerKind::kDdim, 0.6, 10, 0.0, schedule);
  for (const auto& s : plan) {
    if (s.last) continue;
    const double g = s.eval.gamma, gn = s.next.gamma;
    const double sigma2 = 0.36 * (1 - gn) / (1 - g) * (1 - g / gn);
    EXPECT_NEAR(s.noise_std, std::sqrt(sigma2), 1e-12);
    EXPECT_NEAR(s.c_x0, std::sqrt(gn), 1e-12);
    EXPECT_NEAR(s.c_eps, std::sqrt(1 - gn - sigma2), 1e-12);
    EXPECT_EQ(s.c_z, 0.0);
  }
}

TEST(SamplerPlan, DpmSolverUsesTheGapBetweenEvaluationPoints) {
  // With td = 0.5 each step lands between grid points, and the next evaluation relabels z with
  // its grid time: r must come from the lambda gap between the two evaluation points.
  const Schedule schedule = Schedule::parse("sigmoid@-3,3,0.9");
  const auto plan = plan_sampler(SamplerKind::kDpmSolver2M, 0.0, 10, 0.5, schedule);
  EXPECT_EQ(plan[0].order, 1);
  // Step 1's previous estimate came from gamma = clip_min (t = 1): first order.
  EXPECT_EQ(plan[1].order, 1);
  EXPECT_STREQ(plan[1].rule, "first order");
  for (std::size_t k = 2; k + 1 < plan.size(); ++k) {
    const auto& s = plan[k];
    const double h = lambda(s.next) - lambda(s.eval);
    const double h_prev = lambda(s.eval) - lambda(plan[k - 1].eval);
    const double r = h_prev / h;
    const double a_next = std::sqrt(s.next.gamma);
    ASSERT_EQ(s.order, 2) << k;
    EXPECT_NEAR(s.c_z, std::sqrt((1 - s.next.gamma) / (1 - s.eval.gamma)), 1e-12);
    EXPECT_NEAR(s.c_x0, -a_next * std::expm1(-h) * (1 + 1 / (2 * r)), 1e-12);
    EXPECT_NEAR(s.c_x0_prev, a_next * std::expm1(-h) / (2 * r), 1e-12);
  }
}

TEST(SamplerPlan, HeunCorrection) {
  const Schedule schedule = Schedule::parse("karras");
  const auto plan = plan_sampler(SamplerKind::kHeun, 0.0, 8, 0.0, schedule);
  for (const auto& s : plan) {
    if (s.last) continue;
    const double a = std::sqrt(s.eval.gamma), a2 = std::sqrt(s.next.gamma);
    const double sigma = std::sqrt(s.eval.one_minus) / a, sigma2 = std::sqrt(s.next.one_minus) / a2;
    if (s.next.one_minus == 0) {
      EXPECT_FALSE(s.correct);
      continue;
    }
    ASSERT_TRUE(s.correct) << s.index;
    // Euler on x = z / a: x' = x + (sigma' - sigma) eps, i.e. z' = a' x0 + s' eps.
    EXPECT_NEAR(s.c_x0, a2, 1e-12);
    EXPECT_NEAR(s.c_eps, a2 * sigma2, 1e-12);
    EXPECT_NEAR(s.c_correct, 0.5 * a2 * (sigma2 - sigma), 1e-9 * std::abs(a2 * sigma));
  }
}

TEST(SamplerPlan, ClippedScheduleEndsAreZeroGapsNotNaN) {
  // cosine@0.2,1,3 reaches clip_min before t = 1: several grid points share gamma = clip_min.
  const Schedule schedule = Schedule::parse("cosine@0.2,1,3");
  for (const auto& e : sampler_names_table().entries()) {
    const auto plan = plan_sampler(e.value, 0.0, 100, 0.0, schedule);
    int zero_gaps = 0;
    for (const auto& s : plan) {
      if (std::string(s.rule) == "zero gap") {
        ++zero_gaps;
        EXPECT_EQ(s.c_z, 1.0);
        EXPECT_EQ(s.c_x0 + s.c_eps + s.c_x0_prev + s.noise_std, 0.0);
      }
    }
    EXPECT_GT(zero_gaps, 0) << e.name;
  }
  // DPM-Solver++ restarts at first order after the zero gaps: the step out of the clipped end
  // and the one after it (whose previous estimate was made at clip_min) are first order.
  const auto plan = plan_sampler(SamplerKind::kDpmSolver2M, 0.0, 100, 0.0, schedule);
  std::size_t first = 0;
  while (std::string(plan[first].rule) == "zero gap") ++first;
  EXPECT_EQ(plan[first].eval.gamma, schedule.clip_min());
  EXPECT_EQ(plan[first].order, 1);
  EXPECT_STREQ(plan[first].rule, "first order");
  EXPECT_EQ(plan[first + 1].order, 1);
  EXPECT_EQ(plan[first + 2].order, 2);
}

TEST(SamplerPlan, NoCoefficientExplodesNextToAClippedEnd) {
  // A grid point one rounding step above clip_min is a zero gap, and the multistep after it (or
  // after any evaluation at clip_min) is first order: the extrapolation weights stay bounded.
  for (auto [spec, steps] : {std::pair{"simple_linear:clip_min=0.02", 50},
                             {"simple_linear:clip_min=0.001", 1000},
                             {"simple_linear:clip_min=0.05", 20},
                             {"sigmoid@-3,3,0.1", 25}}) {
    const auto plan =
        plan_sampler(SamplerKind::kDpmSolver2M, 0.0, steps, 0.0, Schedule::parse(spec));
    for (const auto& s : plan) {
      EXPECT_LE(std::abs(s.c_x0) + std::abs(s.c_x0_prev), 10.0) << spec << " step " << s.index;
      if (s.order == 2) {
        EXPECT_LE(std::abs(s.c_x0_prev), 5 * std::abs(s.c_x0)) << spec;
      }
    }
  }
  // Heun from sigma 3616 to 62.6 (shifted cosine at 128 pixels, first step of 50): Euler only.
  const auto heun =
      plan_sampler(SamplerKind::kHeun, 0.0, 50, 0.0, Schedule::parse("shifted_cosine@64,128"));
  EXPECT_FALSE(heun[0].correct);
  EXPECT_STREQ(heun[0].rule, "euler");
  for (const auto& s : heun) EXPECT_LE(std::abs(s.c_correct), 10.0) << s.index;
}

TEST(SamplerPlan, LandingOnCleanDataBeforeTheLastStep) {
  // td = 1: step N - 2 goes to t = 0 (gamma = 1); every sampler then holds its x0 estimate.
  const Schedule schedule = Schedule::parse("cosine");
  for (const auto& e : sampler_names_table().entries()) {
    const auto plan = plan_sampler(e.value, 0.0, 5, 1.0, schedule);
    const auto& s = plan[3];
    EXPECT_EQ(s.t_next, 0.0);
    EXPECT_STREQ(s.rule, "to clean") << e.name;
    EXPECT_EQ(s.c_z, 0.0);
    EXPECT_EQ(s.c_x0, 1.0);
    EXPECT_EQ(s.noise_std, 0.0);
    EXPECT_FALSE(s.correct);
  }
}

TEST(SamplerPlan, EveryCoefficientFiniteAcrossTheSweep) {
  const char* specs[] = {"simple_linear",    "cosine",          "sigmoid",
                         "shifted_cosine",   "ddpm_linear",     "karras",
                         "cosine@0.2,1,1",   "cosine@0.2,1,2",  "cosine@0.2,1,3",
                         "sigmoid@0,3,0.3",  "sigmoid@0,3,0.7", "sigmoid@-3,3,0.9",
                         "sigmoid@-3,3,1.1", "sigmoid@-3,3,0.1"};
  for (const char* spec : specs) {
    const Schedule schedule = Schedule::parse(spec);
    for (const auto& e : sampler_names_table().entries()) {
      for (int steps : {1, 2, 3, 5, 10, 25, 100, 1000}) {
        for (double td : {0.0, 0.5, 1.0}) {
          const auto plan = plan_sampler(e.value, 0.0, steps, td, schedule);
          ASSERT_EQ(static_cast<int>(plan.size()), steps);
          for (const auto& s : plan) {
            for (double c : {s.c_z, s.c_x0, s.c_eps, s.c_x0_prev, s.noise_std, s.c_correct}) {
              ASSERT_TRUE(std::isfinite(c)) << spec << " " << e.name << " steps " << steps << " td "
                                            << td << " step " << s.index;
            }
          }
        }
      }
    }
  }
}

TEST(InferenceRecipe, DefaultsParseAndPrintBack) {
  const InferenceRecipe d;
  EXPECT_EQ(InferenceRecipe::parse(d.to_string()), d);
  EXPECT_EQ(d.to_string(), "ddpm steps=100 td=0 schedule=" + Schedule::parse("cosine").to_string() +
                               " guidance=0 clip=on");
  const auto r = InferenceRecipe::parse(
      "ddim eta=0.5 steps=20 schedule=sigmoid:start=-3,end=3,tau=0.9 guidance=1.5 clip=off td=1");
  EXPECT_EQ(r.sampler, SamplerKind::kDdim);
  EXPECT_EQ(r.eta, 0.5);
  EXPECT_EQ(r.steps, 20);
  EXPECT_EQ(r.td, 1.0);
  EXPECT_EQ(r.guidance, 1.5);
  EXPECT_FALSE(r.clip);
  EXPECT_EQ(r.schedule, Schedule::parse("sigmoid@-3,3,0.9"));
  EXPECT_EQ(InferenceRecipe::parse(r.to_string()), r);
  EXPECT_EQ(InferenceRecipe::parse("sampler=heun steps=7").sampler, SamplerKind::kHeun);
  for (const auto& e : sampler_names_table().entries()) {
    InferenceRecipe x;
    x.sampler = e.value;
    EXPECT_EQ(InferenceRecipe::parse(x.to_string()), x) << e.name;
  }
}

TEST(InferenceRecipe, RejectsWhatIsOutOfRange) {
  const auto message = [](const std::string& text) {
    try {
      InferenceRecipe::parse(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("ddpm guidance=nan").find("guidance"), std::string::npos);
  EXPECT_NE(message("ddpm guidance=inf").find("guidance"), std::string::npos);
  EXPECT_NE(message("ddpm guidance=-1").find("guidance"), std::string::npos);
  EXPECT_NE(message("ddpm td=-0.5").find("td"), std::string::npos);
  EXPECT_NE(message("ddpm td=nan").find("td"), std::string::npos);
  EXPECT_NE(message("ddpm steps=0").find("steps"), std::string::npos);
  EXPECT_NE(message("ddpm eta=0.5").find("ddim only"), std::string::npos);
  EXPECT_NE(message("ddim eta=1.5").find("eta"), std::string::npos);
  EXPECT_NE(message("ddpm steps=5 steps=6").find("twice"), std::string::npos);
  EXPECT_NE(message("ddpm colour=red").find("unknown key 'colour'"), std::string::npos);
  EXPECT_NE(message("euler").find("valid: ddim, ddpm"), std::string::npos);
  EXPECT_NE(message("ddpm clip=maybe").find("on or off"), std::string::npos);
  EXPECT_NE(message("").find("empty"), std::string::npos);
  InferenceRecipe r;
  r.guidance = std::nan("");
  EXPECT_THROW(r.validate(), Error);
  EXPECT_THROW(r.plan(), Error);
}

// Every name table: each entry parses back to itself, and unknown names list the valid ones.
template <typename Enum>
void check_table(const NameTable<Enum>& table) {
  std::set<std::string> names;
  for (const auto& e : table.entries()) {
    EXPECT_EQ(table.parse(e.name), e.value) << table.what();
    EXPECT_STREQ(table.name(e.value), e.name);
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate " << e.name;
    EXPECT_GT(std::string(e.summary).size(), 0u);
  }
  try {
    table.parse("no-such-name");
    ADD_FAILURE() << table.what() << " accepted an unknown name";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(table.joined()), std::string::npos);
  }
}

TEST(NameTables, EveryEntryRoundTrips) {
  check_table(sampler_names_table());
  check_table(normalization_names_table());
  check_table(target_names_table());
  check_table(architecture_names_table());
  check_table(optimizer_names_table());
}

TEST(RandomPurposes, AreDistinct) {
  std::set<std::uint64_t> seen(purpose::kAll.begin(), purpose::kAll.end());
  EXPECT_EQ(seen.size(), purpose::kAll.size());
  EXPECT_NE(purpose::kInit, purpose::kEvalSamples);
}

}  // namespace
}  // namespace noisesched

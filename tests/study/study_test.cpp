// The study's conclusion follows the numbers: the paper's trend when the best b shrinks with
// resolution, its absence otherwise, and seed spreads that leave an order open.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/study/conclusion.h"
#include "noisesched/study/plan.h"
#include "noisesched/study/report.h"

namespace noisesched {
namespace {

CellResult done(int resolution, StudyAxis axis, const std::string& value, std::int64_t seed,
                double fid) {
  CellResult r;
  r.cell.id = study_cell_id(resolution, axis, value, seed);
  r.cell.axis = axis;
  r.cell.value = value;
  r.cell.resolution = resolution;
  r.cell.seed = seed;
  r.status = CellResult::Status::kDone;
  r.fid = fid;
  return r;
}

StudyPlan plan_of(std::vector<int> sizes) {
  StudyPlan plan;
  plan.input_scales = {1, 0.5};
  plan.schedules = {"cosine"};
  plan.seeds = {0, 1};
  for (int size : sizes) {
    StudyResolution r;
    r.size = size;
    plan.resolutions.push_back(r);
  }
  return plan;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Study, CellIdsNameEverything) {
  EXPECT_EQ(study_cell_id(32, StudyAxis::kInputScale, "0.5", 1), "r32_b0.5_s1");
  EXPECT_EQ(study_cell_id(64, StudyAxis::kSchedule, "cosine@0.2,1,1", 0), "r64_cosine@0.2,1,1_s0");
  EXPECT_EQ(study_cell_id(8, StudyAxis::kSchedule, "a/b c", 0), "r8_a_b_c_s0");
}

TEST(Study, TheBestBShrinkingWithResolutionIsThePapersFinding) {
  const auto b = StudyAxis::kInputScale;
  // Given out of order (64 first): the trend is read by resolution.
  const StudyPlan plan = plan_of({64, 32});
  const std::vector<CellResult> results = {done(32, b, "1", 0, 100),   done(32, b, "1", 1, 102),
                                           done(32, b, "0.5", 0, 150), done(32, b, "0.5", 1, 152),
                                           done(64, b, "1", 0, 200),   done(64, b, "1", 1, 205),
                                           done(64, b, "0.5", 0, 120), done(64, b, "0.5", 1, 125)};
  const std::string text = study_conclusion(plan, results);
  EXPECT_TRUE(has(text,
                  "32 px: the best b is 1 (FID 101.0); the next, b = 0.5 (FID 151.0), is "
                  "worse for every seed."))
      << text;
  EXPECT_TRUE(has(text, "64 px: the best b is 0.5")) << text;
  EXPECT_TRUE(has(text,
                  "As in the paper, the best input scale shrinks as the resolution grows** "
                  "(32 px: 1, 64 px: 0.5)"))
      << text;
  const StudySummary summary = summarize_fid(results);
  const SeedSummary& s = summary.at({static_cast<int>(b), "1", 64});
  EXPECT_DOUBLE_EQ(s.mean, 202.5);
  EXPECT_EQ(s.low, 200);
  EXPECT_EQ(s.high, 205);
  EXPECT_EQ(s.count, 2);
}

TEST(Study, NoTrendAndOverlappingSeedsAreSaid) {
  const auto b = StudyAxis::kInputScale;
  const StudyPlan plan = plan_of({32, 64});
  const std::vector<CellResult> results = {done(32, b, "1", 0, 150),   done(32, b, "1", 1, 152),
                                           done(32, b, "0.5", 0, 100), done(32, b, "0.5", 1, 160),
                                           done(64, b, "1", 0, 120),   done(64, b, "1", 1, 125),
                                           done(64, b, "0.5", 0, 200), done(64, b, "0.5", 1, 205)};
  const std::string text = study_conclusion(plan, results);
  // 32 px: 0.5 has the lower mean (130 < 151) but its seeds span 100..160, overlapping 150..152.
  EXPECT_TRUE(has(text,
                  "32 px: the best b is 0.5 (FID 130.0); the next, b = 1 (FID 151.0), "
                  "overlaps it within the spread over seeds"))
      << text;
  EXPECT_TRUE(has(text, "does not show at this budget** (best b: 32 px: 0.5, 64 px: 1)")) << text;
}

TEST(Study, AnUnestablishedTrendIsExplainedBySeedSpreadAndModelStrength) {
  const auto b = StudyAxis::kInputScale;
  // Listed 64 first: the explanation still reads by resolution.
  const StudyPlan plan = plan_of({64, 32});
  const auto with_cacc = [](CellResult r, double cacc) {
    r.cacc = cacc;
    r.cacc_ceiling = 0.9;
    return r;
  };
  // 32 px: b = 1 best by 8 (seeds 90..110 against 100..116: overlapping); 64 px: b = 0.5 best by
  // 40 (seeds 200..204 against 240..244). Average seed difference (20 + 16 + 4 + 4) / 4 = 11:
  // above the 32 px gap, below the 64 px one.
  const std::vector<CellResult> results = {
      with_cacc(done(32, b, "1", 0, 110), 0.7),   with_cacc(done(32, b, "1", 1, 90), 0.6),
      with_cacc(done(32, b, "0.5", 0, 100), 0.6), with_cacc(done(32, b, "0.5", 1, 116), 0.6),
      with_cacc(done(64, b, "1", 0, 240), 0.3),   with_cacc(done(64, b, "1", 1, 244), 0.3),
      with_cacc(done(64, b, "0.5", 0, 200), 0.4), with_cacc(done(64, b, "0.5", 1, 204), 0.5)};
  const std::string text = study_conclusion(plan, results);
  EXPECT_TRUE(has(text, "but the spread over seeds does not establish it")) << text;
  EXPECT_TRUE(has(text,
                  "- Why: the seeds of one setting span 11.0 FID on average (highest minus "
                  "lowest; at most 20.0, over 4 settings run with two seeds or more), while the "
                  "best two b lie 8.0 apart at 32 px and 40.0 apart at 64 px. At 1 of the 2 "
                  "sizes that gap is smaller than the seeds' average span"))
      << text;
  // Seed shifts: 32 px seed means 105 and 103, residuals +-9 (1 degree of freedom: sigma 18);
  // 64 px exactly additive (sigma 0, shifts +-2).
  // (SciPy: the F test of the 32 px shifts, f.sf(1 / 9, 1, 1) = 0.930; none at 64 px.)
  EXPECT_TRUE(has(text,
                  "Some of that span can be a shift that a seed gives every setting of a size: "
                  "the seeds' mean FIDs over the settings differ by 2.0 at 32 px (p = 0.930) "
                  "and 4.0 at 64 px, where p is the chance of shifts this large from the error "
                  "alone (F test); with the shifts removed, a cell strays from its setting's mean "
                  "by 18.0 at 32 px and "
                  "0.0 at 64 px (standard deviation; the error the seed-by-seed comparisons are "
                  "weighed against)."))
      << text;
  // 32 px, b = 1 against 0.5 by seed: -10 and +26, mean 8 against a standard error of 18.
  EXPECT_TRUE(has(text,
                  "(the next minus the best: -10.0 and +26.0; mean 8.0, 0.44 standard errors of "
                  "18.0: p = 0.734, Student's t with 1 degree of freedom over 2 settings)."))
      << text;
  // The best b's class accuracy: 65% at 32 px (b = 1), 45% at 64 px (b = 0.5): falling.
  EXPECT_TRUE(has(text,
                  "recognised as their class by the classifier 65% of the time at 32 px and "
                  "45% of the time at 64 px (real test images: 90%): the larger the "
                  "images, the weaker"))
      << text;
  // An established trend needs no explanation.
  const std::vector<CellResult> clear = {done(32, b, "1", 0, 100),   done(32, b, "1", 1, 102),
                                         done(32, b, "0.5", 0, 150), done(32, b, "0.5", 1, 152),
                                         done(64, b, "1", 0, 200),   done(64, b, "1", 1, 205),
                                         done(64, b, "0.5", 0, 120), done(64, b, "0.5", 1, 125)};
  EXPECT_FALSE(has(study_conclusion(plan, clear), "Why:"));
}

TEST(Study, OverlappingSettingsAreComparedSeedBySeed) {
  const auto b = StudyAxis::kInputScale;
  const auto fn = StudyAxis::kSchedule;
  const StudyPlan plan = plan_of({32});
  // Seed 1 is about 40 lower than seed 0 for every setting: the ranges overlap, yet b = 0.5 is
  // lower than b = 1 at both seeds, and cosine lower than 1 - t (the b = 1 cell) at one of two.
  // The seed-block fit over the three settings (SciPy: sigma 10.157, t = 7.5 / sigma, 2 degrees of
  // freedom) weighs the mean differences.
  const std::vector<CellResult> results = {
      done(32, b, "1", 0, 150),   done(32, b, "1", 1, 110),       done(32, b, "0.5", 0, 145),
      done(32, b, "0.5", 1, 100), done(32, fn, "cosine", 0, 130), done(32, fn, "cosine", 1, 112)};
  const std::string text = study_conclusion(plan, results);
  EXPECT_TRUE(has(text,
                  "overlaps it within the spread over seeds, so the order of these two is not "
                  "established. Paired by seed, the best is lower at 2 of 2 seeds (the next "
                  "minus the best: +5.0 and +10.0; mean 7.5, 0.74 standard errors of 10.2: "
                  "p = 0.537, Student's t with 2 degrees of freedom over 3 settings)."))
      << text;
  // Schedule functions at b = 1: cosine 121 against simple_linear 130, split by seed.
  EXPECT_TRUE(has(text,
                  "32 px, schedule functions at b = 1: the best is cosine (FID 121.0); the next, "
                  "simple_linear (1 - t) (FID 130.0), is not separated from it by the spread over "
                  "seeds. Paired by seed, the best is lower at 1 of 2 seeds (the next minus the "
                  "best: +20.0 and -2.0; mean 9.0, 0.89 standard errors of 10.2: p = 0.469, "
                  "Student's t with 2 degrees of freedom over 3 settings).\n"))
      << text;
  // With a third function best, it is also compared with 1 - t, the schedule b rescales
  // (SciPy over the four settings: sigma 9.719, 3 degrees of freedom).
  StudyPlan three = plan;
  three.schedules = {"cosine", "sigmoid@0,3,0.7"};
  std::vector<CellResult> more = results;
  more.push_back(done(32, fn, "sigmoid@0,3,0.7", 0, 125));
  more.push_back(done(32, fn, "sigmoid@0,3,0.7", 1, 105));
  const std::string third = study_conclusion(three, more);
  EXPECT_TRUE(has(third,
                  "the best is sigmoid@0,3,0.7 (FID 115.0); the next, cosine (FID 121.0), is not "
                  "separated from it by the spread over seeds. Paired by seed, the best is lower "
                  "at 2 of 2 seeds (the next minus the best: +5.0 and +7.0; mean 6.0, 0.62 "
                  "standard errors of 9.7: p = 0.581, Student's t with 3 degrees of freedom over "
                  "4 settings). Against simple_linear (1 - t) (FID 130.0), not separated by the "
                  "spread over seeds. Paired by seed, the best is lower at 2 of 2 seeds (1 - t "
                  "minus the best: +25.0 and +5.0; mean 15.0, 1.54 standard errors of 9.7: "
                  "p = 0.220"))
      << third;
  // Three seeds: the standard error of a mean difference is sigma sqrt(2 / 3), with
  // (3 - 1)(3 - 1) degrees of freedom (numpy and SciPy: sigma 9.883, t = 8.333 / 8.069).
  StudyPlan seeds3 = plan;
  seeds3.seeds = {0, 1, 2};
  std::vector<CellResult> with3 = results;
  with3.push_back(done(32, b, "1", 2, 130));
  with3.push_back(done(32, b, "0.5", 2, 120));
  with3.push_back(done(32, fn, "cosine", 2, 140));
  EXPECT_TRUE(has(study_conclusion(seeds3, with3),
                  "Paired by seed, the best is lower at 3 of 3 seeds (the next minus the best: "
                  "+5.0, +10.0 and +10.0; mean 8.3, 1.03 standard errors of 8.1: p = 0.360, "
                  "Student's t with 4 degrees of freedom over 3 settings)."))
      << study_conclusion(seeds3, with3);
  // Separated settings need no pairing.
  const std::vector<CellResult> clear = {done(32, b, "1", 0, 100), done(32, b, "1", 1, 102),
                                         done(32, b, "0.5", 0, 150), done(32, b, "0.5", 1, 152)};
  EXPECT_FALSE(has(study_conclusion(plan, clear), "Paired by seed"));
}

TEST(Study, ACellIsReadFromItsMetricsFile) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "noisesched-study-test-cell";
  fs::remove_all(dir);
  fs::create_directories(dir);
  StudyCell cell;
  cell.config.train.out_dir = dir.string();
  cell.config.train.steps = 20;
  EXPECT_EQ(read_cell_result(cell).status, CellResult::Status::kNotStarted);
  std::FILE* f = std::fopen((dir / "metrics.jsonl").c_str(), "w");
  ASSERT_NE(f, nullptr);
  // Bands in logSNR order, which is not their string order.
  std::fputs(
      "{\"step\": 10, \"train_s\": 5, \"loss_by_logsnr\": {\"[-6,-3)\": 0.4, \"[-3,0)\": 0.2, "
      "\"[10,inf)\": null}}\n",
      f);
  std::fputs(
      "{\"step\": 20, \"train_s\": 9, \"eval\": {\"fid\": 80.5, \"cacc\": {\"accuracy\": 0.6, "
      "\"ceiling\": 0.93}, \"extractor\": \"cnn:ab\"}}\n",
      f);
  std::fclose(f);
  const CellResult r = read_cell_result(cell);
  EXPECT_EQ(r.status, CellResult::Status::kDone);
  EXPECT_EQ(r.step, 20);
  EXPECT_DOUBLE_EQ(r.train_seconds, 9);
  EXPECT_DOUBLE_EQ(r.fid, 80.5);
  EXPECT_DOUBLE_EQ(r.cacc, 0.6);
  EXPECT_DOUBLE_EQ(r.cacc_ceiling, 0.93);
  EXPECT_EQ(r.extractor, "cnn:ab");
  ASSERT_EQ(r.loss_by_band.size(), 2u);  // the band without examples is left out
  EXPECT_EQ(r.loss_by_band[0].first, "[-6,-3)");
  EXPECT_DOUBLE_EQ(r.loss_by_band[0].second, 0.4);
  EXPECT_EQ(r.loss_by_band[1].first, "[-3,0)");
  EXPECT_DOUBLE_EQ(r.loss_by_band[1].second, 0.2);
  fs::remove_all(dir);
}

TEST(Study, UnfinishedCellsAreCountedAndLeftOut) {
  const auto b = StudyAxis::kInputScale;
  const StudyPlan plan = plan_of({32});
  std::vector<CellResult> results = {done(32, b, "1", 0, 100), done(32, b, "0.5", 0, 90)};
  CellResult partial = done(32, b, "1", 1, 0);
  partial.status = CellResult::Status::kPartial;
  results.push_back(partial);
  const std::string text = study_conclusion(plan, results);
  EXPECT_TRUE(has(text, "2 of 3 cells are finished")) << text;
  EXPECT_TRUE(has(text, "the best b is 0.5 (FID 90.0)")) << text;
  EXPECT_TRUE(has(text, "(FID 100.0), with one seed each, so the order")) << text;
  EXPECT_EQ(summarize_fid(results).at({static_cast<int>(b), "1", 32}).count, 1);
  // A second seed for b = 1 only: the single seed is b = 0.5's, and the text says so.
  results.push_back(done(32, b, "1", 2, 104));
  const std::string more = study_conclusion(plan, results);
  EXPECT_TRUE(has(more, "(FID 102.0), with one seed for b = 0.5, so the order")) << more;
}

TEST(Study, TheShippedStudyFilesLoadAndEveryCellValidates) {
  // configs/studies/*.toml: the grid the docs describe, with presets that load and cells whose
  // configurations are valid (66 cells: 3 sizes x (5 b + 6 schedules) x 2 seeds on the CPU).
  const std::string folder = std::string(NOISESCHED_TEST_DIR) + "/../configs/studies/";
  const StudyPlan cpu = load_study(folder + "cpu.toml");
  const auto cells = cpu.cells();
  EXPECT_EQ(cells.size(), 66u);
  EXPECT_EQ(cells.front().id, "r32_b1_s0");
  EXPECT_EQ(cells.back().id, "r128_sigmoid@0,3,0.7_s1");
  for (const auto& cell : cells) {
    EXPECT_EQ(cell.config.data.resolution, cell.resolution) << cell.id;
    EXPECT_EQ(cell.config.train.steps, 700) << cell.id;
    EXPECT_EQ(cell.config.eval.every, 700) << cell.id;
  }
  EXPECT_EQ(cells[2].config.diffusion.input_scale, "0.7");
  EXPECT_EQ(cells[2].config.diffusion.schedule, "simple_linear");
  const StudyPlan gpu = load_study(folder + "gpu.toml");
  EXPECT_EQ(gpu.cells().size(), 99u);
  EXPECT_EQ(gpu.cells().front().config.train.device, "cuda");
  // The longer study: b in {1, 0.5} at 32 and 128 px x 3 seeds at four times the steps, its own
  // report and a committed results folder.
  const StudyPlan longer = load_study(folder + "cpu_long.toml");
  const auto long_cells = longer.cells();
  EXPECT_EQ(long_cells.size(), 12u);
  EXPECT_EQ(long_cells.front().id, "r32_b1_s0");
  EXPECT_EQ(long_cells.back().id, "r128_b0.5_s2");
  for (const auto& cell : long_cells) EXPECT_EQ(cell.config.train.steps, 2800) << cell.id;
  EXPECT_NE(longer.report, cpu.report);
  EXPECT_NE(longer.out_dir, cpu.out_dir);
  // It compares its cells with the same cells of the 700-step study, from that study's report.
  EXPECT_EQ(longer.compare,
            (std::filesystem::path(folder) / "cpu.toml").lexically_normal().string());
  const std::vector<CellResult> earlier =
      read_report_cells(std::string(NOISESCHED_TEST_DIR) + "/../" + cpu.report);
  ASSERT_EQ(earlier.size(), 66u);
  EXPECT_EQ(earlier.front().cell.id, "r32_b1_s0");
  EXPECT_EQ(earlier.back().cell.id, "r128_sigmoid@0,3,0.7_s1");
  for (const CellResult& r : earlier) {
    EXPECT_EQ(r.status, CellResult::Status::kDone) << r.cell.id;
    EXPECT_TRUE(std::isfinite(r.fid)) << r.cell.id;
    EXPECT_EQ(r.cell.config.train.steps, 700) << r.cell.id;
    EXPECT_EQ(r.extractor, "fmnist_cnn:ce814b720e6be5a0") << r.cell.id;
  }
  const auto cell = std::find_if(earlier.begin(), earlier.end(),
                                 [](const CellResult& r) { return r.cell.id == "r128_b1_s0"; });
  ASSERT_NE(cell, earlier.end());
  EXPECT_DOUBLE_EQ(cell->fid, 973.1);
  EXPECT_DOUBLE_EQ(cell->cacc, 0.374);
}

// Ranges that overlap can still be ordered seed by seed: the best lower at every seed with p <
// 0.05 establishes the order (the long study's 128 px cells); lower at every seed with a larger p
// does not.
TEST(Study, AnOrderLowerAtEverySeedWithSmallPIsEstablishedSeedBySeed) {
  const auto b = StudyAxis::kInputScale;
  StudyPlan plan = plan_of({128});
  plan.seeds = {0, 1, 2};
  const std::vector<CellResult> clear = {
      done(128, b, "1", 0, 447.3),   done(128, b, "1", 1, 414.3),   done(128, b, "1", 2, 350.0),
      done(128, b, "0.5", 0, 550.6), done(128, b, "0.5", 1, 534.5), done(128, b, "0.5", 2, 429.3)};
  const std::string text = study_conclusion(plan, clear);
  EXPECT_TRUE(has(text,
                  "- 128 px: the best b is 1 (FID 403.9); the next, b = 0.5 (FID 504.8), overlaps "
                  "it within the spread over seeds, but the order of these two is established "
                  "seed by seed. Paired by seed, the best is lower at 3 of 3 seeds (the next minus "
                  "the best: +103.3, +120.2 and +79.3; mean 100.9, 8.51 standard errors of 11.9: "
                  "p = 0.014, Student's t with 2 degrees of freedom over 2 settings).\n"))
      << text;
  const std::vector<CellResult> noisy = {done(128, b, "1", 0, 100),   done(128, b, "1", 1, 110),
                                         done(128, b, "1", 2, 120),   done(128, b, "0.5", 0, 101),
                                         done(128, b, "0.5", 1, 150), done(128, b, "0.5", 2, 121)};
  const std::string weak = study_conclusion(plan, noisy);
  EXPECT_TRUE(has(weak,
                  "overlaps it within the spread over seeds, so the order of these two is "
                  "not established. Paired by seed, the best is lower at 3 of 3 seeds"))
      << weak;
}

// A plan whose report and cells go to a fresh folder `dir`.
StudyPlan plan_in(const std::filesystem::path& dir, std::vector<int> sizes) {
  std::filesystem::remove_all(dir);
  StudyPlan plan = plan_of(std::move(sizes));
  plan.report = (dir / "study.md").string();
  plan.out_dir = (dir / "runs").string();
  plan.source = "test.toml";
  return plan;
}

// A cell as read_report_cells gives it: id, resolution, seed, steps, status, FID, accuracy.
CellResult as_read(int resolution, const std::string& value, std::int64_t seed, double fid,
                   double cacc) {
  CellResult r;
  r.cell.id = study_cell_id(resolution, StudyAxis::kInputScale, value, seed);
  r.cell.resolution = resolution;
  r.cell.seed = seed;
  r.cell.config.train.steps = 700;
  r.step = 700;
  r.status = CellResult::Status::kDone;
  r.fid = fid;
  r.cacc = cacc;
  return r;
}

// The same cells in an earlier study (at another length of training) and the advisor's b are
// weighed beside the study's own: the means over the cells both finished, the b of lower mean
// FID then and now on the seeds both finished for each b, and whether the lowest mean FID is at
// the b run nearest to the prediction (the reference resolution not counted).
TEST(Study, TheConclusionComparesWithAnEarlierStudyAndTheAdvisor) {
  const auto b = StudyAxis::kInputScale;
  const StudyPlan plan = plan_of({32, 128});
  std::vector<CellResult> now = {done(32, b, "1", 0, 100),    done(32, b, "1", 1, 110),
                                 done(32, b, "0.5", 0, 120),  done(32, b, "0.5", 1, 130),
                                 done(128, b, "1", 0, 400),   done(128, b, "1", 1, 420),
                                 done(128, b, "0.5", 0, 500), done(128, b, "0.5", 1, 520)};
  for (CellResult& r : now) r.cacc = r.cell.resolution == 32 ? 0.75 : 0.7;
  // Then: b = 0.5 at 128 px has seeds 0 and 1, b = 1 only seed 0, so b is ranked on seed 0
  // alone (on all its cells b = 0.5 would average 925 against b = 1's 950, on seed 0 850).
  // One earlier cell was not finished (NaN FID: left out) and one has no class accuracy.
  ConclusionContext context;
  context.earlier = {as_read(32, "1", 0, 150, 0.4),    as_read(32, "0.5", 0, 140, 0.4),
                     as_read(128, "1", 0, 950, 0.4),   as_read(128, "0.5", 0, 850, 0.8),
                     as_read(128, "0.5", 1, 1000, -1), as_read(32, "1", 1, std::nan(""), 0.4),
                     as_read(64, "1", 0, 10, 0.4)};
  context.earlier_name = "the short study";
  context.predicted_b = {{32, 1.0}, {128, 0.3}};
  const std::string text = study_conclusion(plan, now, context);
  EXPECT_TRUE(has(text,
                  "- Against the same cells (resolution, setting and seed) at 700 steps in the "
                  "short study, means over the cells finished in both: at 32 px (2 cells) FID "
                  "145.0 → 110.0 and class accuracy 40.0% → 75.0% (higher for 2 of 2); at 128 px "
                  "(3 cells) FID 933.3 → 473.3 and class accuracy 60.0% → 70.0% (higher for 1 of "
                  "2). The lower mean FID, on the seeds both studies finished for each b: at 32 "
                  "px (b = 1 and 0.5, seed 0) b = 0.5 then, b = 1 now; at 128 px (b = 1 and 0.5, "
                  "seed 0) b = 0.5 then, b = 1 now.\n"))
      << text;
  EXPECT_TRUE(has(text,
                  "- The advisor (`noisesched advise`, from the data alone) predicts b = 1.00 at "
                  "32 px (the reference: 1 by construction) and 0.30 at 128 px; the lowest mean "
                  "FID is at b = 1 at 128 px (the nearest b run to the prediction is 0.5): the "
                  "means do not agree with the prediction.\n"))
      << text;
  // After the trend, the earlier study, then the advisor, then why the trend is not established.
  const auto trend = text.find("does not show at this budget");
  const auto against = text.find("- Against the same cells");
  const auto advisor = text.find("- The advisor");
  const auto why = text.find("- Why:");
  ASSERT_NE(why, std::string::npos) << text;
  EXPECT_LT(trend, against);
  EXPECT_LT(against, advisor);
  EXPECT_LT(advisor, why);
  // How the two studies' evaluations differ is said.
  context.earlier_caveat = "features of `a` then, `b` now";
  EXPECT_TRUE(has(study_conclusion(plan, now, context),
                  " The two studies evaluate differently (features of `a` then, `b` now): the "
                  "levels of FID and class accuracy do not compare exactly between them."));
  // An earlier study with no cell finished in both is said, not passed over.
  context.earlier = {as_read(64, "1", 0, 10, 0.4)};
  EXPECT_TRUE(has(study_conclusion(plan, now, context),
                  "- No cell is finished both here and in the short study, so the two lengths of "
                  "training are not compared.\n"));
  // Without an earlier study or a prediction, neither is said.
  const std::string alone = study_conclusion(plan, now);
  EXPECT_FALSE(has(alone, "Against the same cells")) << alone;
  EXPECT_FALSE(has(alone, "The advisor")) << alone;
  EXPECT_FALSE(has(alone, "No cell is finished both")) << alone;
}

// The advisor's verdict counts every resolution but the reference, by the means, and says where
// the seeds do not establish the lowest mean.
TEST(Study, TheAdvisorsPredictionIsWeighedBeyondTheReference) {
  const auto b = StudyAxis::kInputScale;
  StudyPlan plan = plan_of({32, 64, 128});
  plan.input_scales = {1, 0.5, 0.25};
  // 64 px: 0.5 best, apart from 1 at every seed; 128 px: 0.25 best, overlapping 0.5.
  const std::vector<CellResult> results = {
      done(32, b, "1", 0, 100),    done(32, b, "1", 1, 101),     done(32, b, "0.5", 0, 150),
      done(32, b, "0.5", 1, 151),  done(64, b, "1", 0, 300),     done(64, b, "1", 1, 301),
      done(64, b, "0.5", 0, 200),  done(64, b, "0.5", 1, 201),   done(128, b, "0.5", 0, 500),
      done(128, b, "0.5", 1, 560), done(128, b, "0.25", 0, 520), done(128, b, "0.25", 1, 530)};
  ConclusionContext context;
  context.predicted_b = {{32, 1.0}, {64, 0.6}, {128, 0.3}};
  const std::string agree = study_conclusion(plan, results, context);
  EXPECT_TRUE(has(agree,
                  "the lowest mean FID is at b = 0.5 at 64 px (the nearest b run) and 0.25 at "
                  "128 px (the nearest b run; not established by the seeds): the means agree "
                  "with the prediction beyond the reference.\n"))
      << agree;
  context.predicted_b = {{32, 1.0}, {64, 1.1}, {128, 0.9}};
  const std::string disagree = study_conclusion(plan, results, context);
  EXPECT_TRUE(has(disagree, "the means do not agree with the prediction beyond the reference.\n"))
      << disagree;
  context.predicted_b = {{32, 1.0}, {64, 0.6}, {128, 0.9}};
  EXPECT_TRUE(has(study_conclusion(plan, results, context),
                  "the means agree with the prediction at 1 of 2 resolutions beyond the "
                  "reference.\n"));
}

// A report's table of cells reads back as written (the numbers at the report's precision, the
// feature extractor from its first paragraph), and a damaged one is refused naming the file and
// the line.
TEST(Study, AReportsCellsReadBack) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "noisesched-study-test-report";
  const StudyPlan plan = plan_in(dir, {32});
  const auto b = StudyAxis::kInputScale;
  std::vector<CellResult> results = {done(32, b, "1", 0, 100.04), done(32, b, "0.5", 0, 90.26),
                                     done(32, b, "0.5", 1, std::nan(""))};
  results[0].cacc = 0.7512;
  results[0].train_seconds = 120;
  results[0].step = 700;
  results[0].cell.config.train.steps = 700;
  results[1].cacc = 0.5;
  for (CellResult& r : results) r.extractor = "cnn:ab";
  CellResult partial = done(32, b, "1", 1, 0);
  partial.status = CellResult::Status::kPartial;
  partial.step = 350;
  partial.cell.config.train.steps = 700;
  results.push_back(partial);
  CellResult waiting = done(32, b, "1", 2, 0);
  waiting.status = CellResult::Status::kNotStarted;
  results.push_back(waiting);
  write_study_report(plan, results, "noisesched study --config test.toml");
  const std::vector<CellResult> read = read_report_cells(plan.report);
  ASSERT_EQ(read.size(), 5u);
  EXPECT_EQ(read[0].cell.id, "r32_b1_s0");
  EXPECT_EQ(read[0].cell.resolution, 32);
  EXPECT_EQ(read[0].cell.seed, 0);
  EXPECT_EQ(read[0].status, CellResult::Status::kDone);
  EXPECT_EQ(read[0].step, 700);
  EXPECT_EQ(read[0].cell.config.train.steps, 700);
  EXPECT_DOUBLE_EQ(read[0].fid, 100.0);
  EXPECT_DOUBLE_EQ(read[0].cacc, 0.751);
  EXPECT_DOUBLE_EQ(read[0].train_seconds, 120);
  EXPECT_EQ(read[0].extractor, "cnn:ab");
  EXPECT_DOUBLE_EQ(read[1].fid, 90.3);
  EXPECT_DOUBLE_EQ(read[1].cacc, 0.5);
  EXPECT_EQ(read[2].cacc, -1);  // not measured
  // Finished without a finite FID: written empty, read as NaN.
  EXPECT_EQ(read[2].status, CellResult::Status::kDone);
  EXPECT_TRUE(std::isnan(read[2].fid));
  EXPECT_EQ(read[3].status, CellResult::Status::kPartial);
  EXPECT_EQ(read[3].step, 350);
  EXPECT_EQ(read[3].cell.seed, 1);
  EXPECT_TRUE(std::isnan(read[3].fid));
  EXPECT_EQ(read[4].status, CellResult::Status::kNotStarted);
  // A damaged row: the file, its line and what is wrong.
  std::string text;
  {
    std::ifstream in(plan.report);
    std::stringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  const std::size_t row = text.find("| r32_b0.5_s0 | 32 |");
  ASSERT_NE(row, std::string::npos);
  const std::size_t row_end = text.find('\n', row);
  const std::string good_row = text.substr(row, row_end - row);
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + row, '\n'));
  const auto refused = [&](const std::string& damaged_row, const std::string& why) {
    std::string damaged = text;
    damaged.replace(row, good_row.size(), damaged_row);
    std::ofstream(plan.report) << damaged;
    try {
      read_report_cells(plan.report);
      ADD_FAILURE() << "read: " << damaged_row;
    } catch (const Error& e) {
      EXPECT_TRUE(has(e.what(), plan.report + ":" + std::to_string(line) + ": ")) << e.what();
      EXPECT_TRUE(has(e.what(), why)) << e.what();
    }
  };
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string r = good_row;
    r.replace(r.find(from), from.size(), to);
    return r;
  };
  refused(with("| 90.3 |", "| 9o.3 |"), "FID");
  refused(with("| done |", "| finished |"), "status 'finished' is unknown");
  refused(with("32 | ", ""), "has 8 columns, not 9");
  refused(with("/", ""), "is not done/planned");
  refused(with("50.0%", "50.0"), "class accuracy '50.0' has no %");
  // A file without the table.
  std::ofstream(plan.report) << "# notes\n";
  EXPECT_THROW(read_report_cells(plan.report), Error);
  fs::remove_all(dir);
}

// Rewriting a report never loses finished cells whose run folders are gone (the report may be the
// only copy of their numbers): the report, and its figures, stay as they are.
TEST(Study, AReportIsNotRewrittenWithoutCellsItHasFinished) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "noisesched-study-test-keep";
  const StudyPlan plan = plan_in(dir, {32});
  const auto b = StudyAxis::kInputScale;
  std::vector<CellResult> results = {done(32, b, "1", 0, 100), done(32, b, "0.5", 0, 90)};
  write_study_report(plan, results, "first");
  const std::string before = read_file(plan.report);
  results[1].status = CellResult::Status::kNotStarted;  // its run folder is gone
  try {
    write_study_report(plan, results, "second");
    ADD_FAILURE() << "the report was rewritten without a cell it had finished";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), plan.report + ": 1 of its cells (r32_b0.5_s0) are finished there"))
        << e.what();
    EXPECT_TRUE(has(e.what(), "not rewritten")) << e.what();
  }
  EXPECT_EQ(read_file(plan.report), before);
  // A cell the plan no longer has is the user's choice: the report is rewritten.
  results.pop_back();
  write_study_report(plan, results, "third");
  EXPECT_TRUE(has(read_file(plan.report), "Generated by `third`"));
  fs::remove_all(dir);
}

// study.compare: the report compares with an earlier study's report, and says so when that report
// cannot be read (the rest is written, and the command gets a warning).
TEST(Study, AReportComparesWithTheStudyItNames) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "noisesched-study-test-compare";
  const auto b = StudyAxis::kInputScale;
  // The earlier study: its file and its report (written the usual way).
  StudyPlan earlier = plan_in(dir / "short", {32});
  fs::create_directories(dir / "short");
  earlier.source = (dir / "short" / "study.toml").string();
  std::vector<CellResult> then = {done(32, b, "1", 0, 300), done(32, b, "0.5", 0, 250)};
  for (CellResult& r : then) r.extractor = "cnn:old";
  write_study_report(earlier, then, "short");
  std::ofstream(earlier.source) << "[study]\nout_dir = \"" << earlier.out_dir << "\"\nreport = \""
                                << earlier.report
                                << "\"\ninput_scales = [1, 0.5]\nsteps = 700\n[[resolution]]\n"
                                   "size = 32\nconfig = \"x.toml\"\n";
  StudyPlan plan = plan_in(dir / "long", {32});
  plan.compare = earlier.source;
  std::vector<CellResult> now = {done(32, b, "1", 0, 100), done(32, b, "0.5", 0, 150)};
  for (CellResult& r : now) r.extractor = "cnn:new";
  EXPECT_TRUE(write_study_report(plan, now, "long").empty());
  const std::string text = read_file(plan.report);
  EXPECT_TRUE(
      has(text, "- Against the same cells (resolution, setting and seed) at 6000 steps in `" +
                    earlier.source + "` (" + earlier.report +
                    "), means over the cells finished in both: at 32 px (2 cells) FID "
                    "275.0 → 125.0."))
      << text;
  EXPECT_TRUE(has(text, "(b = 1 and 0.5, seed 0) b = 0.5 then, b = 1 now.")) << text;
  EXPECT_TRUE(has(text,
                  "The two studies evaluate differently (features of `cnn:old` then, "
                  "`cnn:new` now)"))
      << text;
  // The earlier report gone: said in the conclusion and as a warning.
  fs::remove(earlier.report);
  const std::vector<std::string> warnings = write_study_report(plan, now, "long");
  ASSERT_FALSE(warnings.empty());
  EXPECT_TRUE(has(warnings.back(), "study.compare: no comparison with " + earlier.source))
      << warnings.back();
  EXPECT_TRUE(has(read_file(plan.report), "- The comparison with the earlier study `" +
                                              earlier.source +
                                              "` (study.compare) could not be "
                                              "made: "))
      << read_file(plan.report);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace noisesched

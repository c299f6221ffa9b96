// The study's conclusion follows the numbers: the paper's trend when the best b shrinks with
// resolution, its absence otherwise, and seed spreads that leave an order open.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "noisesched/common/error.h"
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
  EXPECT_EQ(earlier.size(), 66u);
  EXPECT_EQ(earlier.front().cell.id, "r32_b1_s0");
}

// The same cells in an earlier study (at another length of training) and the advisor's b are
// weighed beside the study's own: the means over the cells both ran, the best b then and now,
// and whether the best b is the b run nearest to the prediction.
TEST(Study, TheConclusionComparesWithAnEarlierStudyAndTheAdvisor) {
  const auto b = StudyAxis::kInputScale;
  const StudyPlan plan = plan_of({32, 128});
  std::vector<CellResult> now = {done(32, b, "1", 0, 100),    done(32, b, "1", 1, 110),
                                 done(32, b, "0.5", 0, 120),  done(32, b, "0.5", 1, 130),
                                 done(128, b, "1", 0, 400),   done(128, b, "1", 1, 420),
                                 done(128, b, "0.5", 0, 500), done(128, b, "0.5", 1, 520)};
  for (CellResult& r : now) r.cacc = r.cell.resolution == 32 ? 0.75 : 0.7;
  std::vector<CellResult> then = {done(32, b, "1", 0, 150),     done(32, b, "0.5", 0, 140),
                                  done(128, b, "1", 0, 950),    done(128, b, "0.5", 0, 850),
                                  done(128, b, "0.5", 1, 1000), done(64, b, "1", 0, 10)};
  for (CellResult& r : then) {
    r.cell.config.train.steps = 700;
    r.cacc = 0.4;
  }
  then[3].cacc = 0.8;  // one 128 px cell was better recognised then
  ConclusionContext context;
  context.earlier = then;
  context.earlier_name = "the short study";
  context.predicted_b = {{32, 1.0}, {128, 0.3}};
  const std::string text = study_conclusion(plan, now, context);
  EXPECT_TRUE(has(text,
                  "- Against the same cells (resolution, setting and seed) at 700 steps in the "
                  "short study: at 32 px (2 cells) FID 145.0 → 110.0 and class accuracy 40.0% → "
                  "75.0% (higher for 2 of 2) and at 128 px (3 cells) FID 933.3 → 473.3 and class "
                  "accuracy 53.3% → 70.0% (higher for 2 of 3) (means over those cells). Over the "
                  "same cells, the best b was 0.5 at 32 px and 0.5 at 128 px then, and is 1 and 1 "
                  "now."))
      << text;
  EXPECT_TRUE(
      has(text,
          "- The advisor (`noisesched advise`, from the data alone) predicts b = 1.00 at 32 "
          "px and 0.30 at 128 px; the measured best b is 1 at 32 px (the nearest b run) "
          "and 1 at 128 px (the nearest b run to the prediction is 0.5): the prediction "
          "holds at 1 of 2 resolutions."))
      << text;
  // Both come after the trend and before the explanation of why it is not established.
  EXPECT_LT(text.find("does not show at this budget"), text.find("- Against the same cells"));
  EXPECT_LT(text.find("- The advisor"), text.find("Why:")) << text;
  // Without an earlier study or a prediction, neither is said.
  const std::string alone = study_conclusion(plan, now);
  EXPECT_FALSE(has(alone, "Against the same cells")) << alone;
  EXPECT_FALSE(has(alone, "The advisor")) << alone;
}

// A report's table of cells reads back as written (the numbers at the report's precision), and a
// damaged one is refused naming the file and the line.
TEST(Study, AReportsCellsReadBack) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "noisesched-study-test-report";
  fs::remove_all(dir);
  StudyPlan plan = plan_of({32});
  plan.report = (dir / "study.md").string();
  plan.out_dir = (dir / "runs").string();
  plan.source = "test.toml";
  const auto b = StudyAxis::kInputScale;
  std::vector<CellResult> results = {done(32, b, "1", 0, 100.04), done(32, b, "0.5", 0, 90.26)};
  results[0].cacc = 0.7512;
  results[0].train_seconds = 120;
  results[0].step = 700;
  results[0].cell.config.train.steps = 700;
  CellResult partial = done(32, b, "1", 1, 0);
  partial.status = CellResult::Status::kPartial;
  partial.step = 350;
  partial.cell.config.train.steps = 700;
  results.push_back(partial);
  write_study_report(plan, results, "noisesched study --config test.toml");
  const std::vector<CellResult> read = read_report_cells(plan.report);
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].cell.id, "r32_b1_s0");
  EXPECT_EQ(read[0].cell.resolution, 32);
  EXPECT_EQ(read[0].cell.seed, 0);
  EXPECT_EQ(read[0].status, CellResult::Status::kDone);
  EXPECT_EQ(read[0].step, 700);
  EXPECT_EQ(read[0].cell.config.train.steps, 700);
  EXPECT_DOUBLE_EQ(read[0].fid, 100.0);
  EXPECT_DOUBLE_EQ(read[0].cacc, 0.751);
  EXPECT_DOUBLE_EQ(read[0].train_seconds, 120);
  EXPECT_DOUBLE_EQ(read[1].fid, 90.3);
  EXPECT_EQ(read[1].cacc, -1);  // not measured
  EXPECT_EQ(read[2].status, CellResult::Status::kPartial);
  EXPECT_EQ(read[2].step, 350);
  EXPECT_EQ(read[2].cell.seed, 1);
  // A row with a damaged number: the file, its line and the column.
  std::string text;
  {
    std::ifstream in(plan.report);
    std::stringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  const std::size_t row = text.find("| r32_b0.5_s0 | 32 |");
  ASSERT_NE(row, std::string::npos);
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + row, '\n'));
  text.replace(text.find("| 90.3 |", row), 8, "| 9o.3 |");
  std::ofstream(plan.report) << text;
  try {
    read_report_cells(plan.report);
    ADD_FAILURE() << "a damaged FID was read";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), plan.report + ":" + std::to_string(line) + ": ")) << e.what();
    EXPECT_TRUE(has(e.what(), "FID")) << e.what();
  }
  // A file without the table.
  std::ofstream(plan.report) << "# notes\n";
  EXPECT_THROW(read_report_cells(plan.report), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace noisesched

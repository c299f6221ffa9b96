// noisesched/study/cells.h: what the study's cells measured, read from their run folders, and
// its summaries over seeds (torch-free). The conclusion (study/conclusion.h) and the report
// (study/report.h) are made of these.
//
// A cell is done when its metrics.jsonl holds the evaluation at its last step (the training run
// evaluates itself there: eval.every = steps).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "noisesched/study/plan.h"

namespace noisesched {

struct CellResult {
  StudyCell cell;
  enum class Status { kNotStarted, kPartial, kDone } status = Status::kNotStarted;
  std::int64_t step = 0;  // last step logged
  double train_seconds = 0;
  double fid = 0, cacc = -1;  // the final evaluation (cacc -1: not measured)
  double cacc_ceiling = -1;   // the classifier's accuracy on real test images (-1: not given)
  // Mean loss per logSNR band over the last quarter of the run's log lines: {band, loss}, by
  // increasing logSNR; bands without examples are left out.
  std::vector<std::pair<std::string, double>> loss_by_band;
  std::string grid;       // the final sample grid, when written
  std::string extractor;  // the evaluation's feature extractor (name:fingerprint)
};

// Reads a cell's run folder. Throws naming the file when metrics.jsonl is not valid JSON lines.
CellResult read_cell_result(const StudyCell& cell);

// Mean and spread (half the range) of a metric over the seeds of one (axis, value, resolution).
struct SeedSummary {
  double mean = 0, low = 0, high = 0;
  int count = 0;
};
// Key: (axis, value, resolution).
using StudySummary = std::map<std::tuple<int, std::string, int>, SeedSummary>;
StudySummary summarize_fid(const std::vector<CellResult>& results);
// Class accuracy the same way (cells that measured it).
StudySummary summarize_accuracy(const std::vector<CellResult>& results);

// "mean ± half the range" with one decimal ("" when nothing was measured; the mean alone for one
// seed).
std::string summary_text(const SeedSummary& summary);

// The measured b of one resolution, best mean FID first (empty when fewer than two are finished).
std::vector<std::pair<double, SeedSummary>> ranked_b(const StudyPlan& plan, const StudySummary& fid,
                                                     int size);

// The plan's resolutions, in its order.
std::vector<int> resolutions_of(const StudyPlan& plan);

// The settings of one table, as rows: (axis, value, label).
struct StudyRow {
  StudyAxis axis;
  std::string value, label;
};
// The b column: every b of the plan.
std::vector<StudyRow> b_rows(const StudyPlan& plan);
// The schedule column: simple_linear at b = 1 (when b = 1 was run) and every other schedule.
std::vector<StudyRow> schedule_rows(const StudyPlan& plan);

// The middle of a logSNR band "[a,b)", with the open ends drawn 2 units beyond the finite one.
double logsnr_band_centre(const std::string& band);

}  // namespace noisesched

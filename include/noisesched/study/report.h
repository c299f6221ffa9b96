// noisesched/study/report.h: what the study's cells measured, and the report made of it
// (torch-free).
//
// A cell is done when its metrics.jsonl holds the evaluation at its last step (the training run
// evaluates itself there: eval.every = steps). The report, docs/study.md by default, is generated,
// never typed: the tables of FID (and class accuracy) by b x resolution and by schedule function x
// resolution, as mean and spread over seeds; figures of FID against b per resolution and of the
// best b against resolution; the sample grid of every cell; the training loss by logSNR band of
// every cell; and the conclusion the numbers support.
#pragma once

#include <cstdint>
#include <map>
#include <string>
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

// The conclusion the numbers support, in sentences (markdown).
std::string study_conclusion(const StudyPlan& plan, const std::vector<CellResult>& results);

// Writes plan.report (markdown) and its figures (<report folder>/figures/<report stem>/*.png),
// atomically. `command` is the command line that produced it, quoted in the report. A figure
// that cannot be drawn (no Python with matplotlib) leaves a note in its place; the returned
// warnings say which and why.
std::vector<std::string> write_study_report(const StudyPlan& plan,
                                            const std::vector<CellResult>& results,
                                            const std::string& command);

}  // namespace noisesched

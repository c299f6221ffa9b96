// noisesched/report/run_curves.h: training curves of one or several runs, from metrics.jsonl.
//
// The time-to-FID figure: each evaluation line {"step", "train_s", "eval": {...}} of every run
// becomes a point of an evaluation metric (fid, cacc, bg, is, kid) against minutes of training
// (train_s: time in training steps only, over all sittings of the run) or steps, one series per
// run, on one panel per metric. Torch-free.
#pragma once

#include <string>
#include <vector>

#include "noisesched/report/figure.h"

namespace noisesched {

struct RunEvaluation {
  long long step = 0;
  double train_minutes = 0;  // NaN when the line has no train_s (older runs)
  double value = 0;
};

// The evaluation points of `metric` in <run>/metrics.jsonl, in file order. Metric names: fid,
// is (its mean), kid (its mean), cacc (accuracy), bg (share), precision, recall. Throws naming
// the file when it is missing or a line is not JSON, and the metric when it is not known.
std::vector<RunEvaluation> read_run_evaluations(const std::string& run_dir,
                                                const std::string& metric);

// One panel per metric, one series per run (labelled by the run folder's name, or `labels`).
// x: "minutes" or "steps".
Figure run_curves_figure(const std::vector<std::string>& runs,
                         const std::vector<std::string>& labels,
                         const std::vector<std::string>& metrics, const std::string& x,
                         const std::string& title);

}  // namespace noisesched

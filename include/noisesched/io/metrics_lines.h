// noisesched/io/metrics_lines.h: a run's metrics.jsonl, line by line, typed: the one writer and
// the one reader (the trainer writes; the run report, `plot` and the study read).
//
// Two kinds of line, in the order they happened:
//   - a training log line, one per log interval: {"step", "epoch", "loss", "loss_by_logsnr", "lr",
//     "grad_norm", "images_per_s", "elapsed_s", "train_s"}; loss_by_logsnr maps logSNR ranges
//     ("[-3,0)", ...) to the mean loss of the interval's examples whose effective logSNR fell
//     there (null when none did);
//   - an evaluation: {"step", "train_s", "eval": {...}}, "eval" holding each metric's result under
//     its name ("fid": a number, "cacc": {"accuracy", "ceiling", ...}, ...) and "extractor",
//     "recipe", "num_images", "seconds".
// train_s: seconds spent in training steps over all sittings of the run; elapsed_s: seconds since
// this sitting started. A number that is not finite is written as null and read back as NaN.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace noisesched {

struct TrainingLine {
  std::int64_t step = 0;
  double epoch = 0;
  double loss = 0;
  std::vector<std::pair<std::string, double>> loss_by_logsnr;  // in logSNR order; NaN: none
  double lr = 0;
  double grad_norm = 0;
  double images_per_s = 0;
  double elapsed_s = 0;
  double train_s = 0;
};

struct EvaluationLine {
  std::int64_t step = 0;
  double train_s = 0;
  nlohmann::ordered_json eval = nlohmann::ordered_json::object();

  // Whether the evaluation computed `metric` (a key of "eval").
  bool has(const std::string& metric) const;
  // eval[metric] (or eval[metric][field]) as a number; NaN when absent, null or not a number.
  double number(const std::string& metric, const std::string& field = "") const;
  // eval[key] as text; "" when absent or not text.
  std::string text(const std::string& key) const;
};

nlohmann::ordered_json to_json(const TrainingLine& line);
nlohmann::ordered_json to_json(const EvaluationLine& line);

// The lines of a metrics file. Reading only evaluations skips training lines without parsing them
// (a long run has 100 000 training lines around a few hundred evaluations).
struct MetricsLines {
  std::vector<TrainingLine> training;
  std::vector<EvaluationLine> evaluations;
};
enum class MetricsToRead { kAll, kEvaluations };
// Throws naming `what` (e.g. "plot"), the file and the line when the file cannot be read or a line
// is not JSON, or a training line lacks its step.
MetricsLines read_metrics(const std::string& path, const std::string& what,
                          MetricsToRead which = MetricsToRead::kAll);

// Appends lines to <run>/metrics.jsonl. Opening for a run resumed at `resume_step` first drops the
// lines of steps after it (written by the interrupted run after its last checkpoint), and lines
// cut short by a crash; a fresh run (`resume_step` 0) starts an empty file.
class MetricsFile {
 public:
  MetricsFile(const std::string& path, std::int64_t resume_step);
  void write(const TrainingLine& line);
  void write(const EvaluationLine& line);

 private:
  void append(const nlohmann::ordered_json& line);
  std::string path_;
};

}  // namespace noisesched

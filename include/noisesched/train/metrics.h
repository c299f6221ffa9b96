// noisesched/train/metrics.h: training statistics and the JSON-lines metrics file.
//
// Each line of metrics.jsonl is one log interval: {"step", "epoch", "loss", "loss_by_logsnr",
// "lr", "grad_norm", "images_per_s", "elapsed_s"}. loss_by_logsnr maps logSNR ranges
// ("[-3,0)", ...) to the mean loss of the examples whose effective logSNR fell there (null when
// none did): it shows which noise levels the network finds hard.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace noisesched {

// Accumulates per-example losses by logSNR bucket over a log interval.
class LossStatistics {
 public:
  LossStatistics();
  void add(const std::vector<double>& logsnr, const std::vector<double>& losses);
  void add_step(double grad_norm);
  double mean_loss() const;
  double mean_grad_norm() const;
  std::int64_t examples() const { return count_; }
  nlohmann::ordered_json buckets_json() const;
  void reset();
  static const std::vector<double>& edges();  // bucket boundaries

 private:
  std::vector<double> sum_;
  std::vector<std::int64_t> bucket_count_;
  double total_ = 0, grad_sum_ = 0;
  std::int64_t count_ = 0, steps_ = 0;
};

// Appends lines to <run>/metrics.jsonl. Opening for a run resumed at `resume_step` first drops the
// lines of steps after it (written by the interrupted run after its last checkpoint).
class MetricsFile {
 public:
  MetricsFile(const std::string& path, std::int64_t resume_step);
  void write(const nlohmann::ordered_json& line);

 private:
  std::string path_;
};

}  // namespace noisesched

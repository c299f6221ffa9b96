// noisesched/train/metrics.h: training statistics and the JSON-lines metrics file.
//
// Each line of metrics.jsonl is one log interval: {"step", "epoch", "loss", "loss_by_logsnr",
// "lr", "grad_norm", "images_per_s", "elapsed_s", "train_s"} (train_s: seconds in training steps
// over all sittings of the run; elapsed_s: seconds since this sitting started). loss_by_logsnr maps
// logSNR ranges
// ("[-3,0)", ...) to the mean loss of the examples whose effective logSNR fell there (null when
// none did): it shows which noise levels the network finds hard.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace noisesched {

class Communicator;
struct StepResult;

// Accumulates per-example losses by logSNR bucket over a log interval.
class LossStatistics {
 public:
  LossStatistics();
  void add(const std::vector<double>& logsnr, const std::vector<double>& losses);
  void add_step(double grad_norm);
  // Adds sums made elsewhere (StepStatistics): per bucket the loss sum and example count, the
  // sum of the steps' gradient norms and the number of steps.
  void add_sums(const std::vector<double>& bucket_sums,
                const std::vector<std::int64_t>& bucket_counts, double grad_norm_sum,
                std::int64_t steps);
  // The bucket of an effective logSNR.
  static std::size_t bucket_of(double logsnr);
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

// The steps' numbers of a log interval, added up on the steps' device (StepResult's tensors), so
// that a training step never waits for the device: read() reads them once per interval (one
// host synchronisation; with several processes, one all-reduce of the sums) into a
// LossStatistics. The first step whose loss was not finite is kept on the device too, and
// check_finite() reads it (before a checkpoint, grid or evaluation: nothing of a bad step is
// saved).
class StepStatistics {
 public:
  // `communicator` (not owned; null: one process) sums the shares of the processes.
  explicit StepStatistics(Communicator* communicator = nullptr);
  void add(const StepResult& result, std::int64_t step);  // `step`: 1-based, for the error
  // Moves the interval's sums into `stats` (which it resets first) and starts a new interval.
  // Throws naming the step when a loss was not finite.
  void read(LossStatistics& stats);
  // Throws naming the step when a loss of this interval so far was not finite.
  void check_finite();

 private:
  Communicator* communicator_;
  at::Tensor sums_;       // float64: per bucket the loss sum, then the gradient norms' sum
  at::Tensor first_bad_;  // float64 scalar: the first step with a non-finite loss (inf: none)
  std::vector<std::int64_t> counts_;  // per bucket, this process's examples (known on the host)
  std::int64_t steps_ = 0;
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

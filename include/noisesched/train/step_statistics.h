// noisesched/train/step_statistics.h: the training statistics of a log interval, the numbers of a
// metrics.jsonl training line (io/metrics_lines.h). The loss by logSNR band shows which noise
// levels the network finds hard.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
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
  // Per band ("[-3,0)", ...), in logSNR order, the mean loss of its examples (NaN: none).
  std::vector<std::pair<std::string, double>> bands() const;
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

}  // namespace noisesched

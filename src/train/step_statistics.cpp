// Training statistics and metrics.jsonl (see step_statistics.h).
#include "noisesched/train/step_statistics.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/core/communicator.h"
#include "noisesched/train/engine.h"

namespace noisesched {

const std::vector<double>& LossStatistics::edges() {
  static const std::vector<double> kEdges = {-10, -6, -3, 0, 3, 6, 10};
  return kEdges;
}

LossStatistics::LossStatistics() { reset(); }

void LossStatistics::reset() {
  sum_.assign(edges().size() + 1, 0.0);
  bucket_count_.assign(edges().size() + 1, 0);
  total_ = grad_sum_ = 0;
  count_ = steps_ = 0;
}

std::size_t LossStatistics::bucket_of(double logsnr) {
  std::size_t bucket = 0;
  while (bucket < edges().size() && logsnr >= edges()[bucket]) ++bucket;
  return bucket;
}

void LossStatistics::add(const std::vector<double>& logsnr, const std::vector<double>& losses) {
  for (std::size_t i = 0; i < losses.size(); ++i) {
    const std::size_t bucket = bucket_of(logsnr[i]);
    sum_[bucket] += losses[i];
    ++bucket_count_[bucket];
    total_ += losses[i];
    ++count_;
  }
}

void LossStatistics::add_sums(const std::vector<double>& bucket_sums,
                              const std::vector<std::int64_t>& bucket_counts, double grad_norm_sum,
                              std::int64_t steps) {
  for (std::size_t b = 0; b < sum_.size(); ++b) {
    sum_[b] += bucket_sums[b];
    bucket_count_[b] += bucket_counts[b];
    total_ += bucket_sums[b];
    count_ += bucket_counts[b];
  }
  grad_sum_ += grad_norm_sum;
  steps_ += steps;
}

StepStatistics::StepStatistics(Communicator* communicator) : communicator_(communicator) {}

void StepStatistics::add(const StepResult& result, std::int64_t step) {
  torch::NoGradGuard no_grad;
  const std::size_t buckets = LossStatistics::edges().size() + 1;
  if (!sums_.defined()) {
    const auto options = result.losses.options().dtype(at::kDouble);
    sums_ = at::zeros({static_cast<std::int64_t>(buckets) + 1}, options);
    first_bad_ = at::full({}, std::numeric_limits<double>::infinity(), options);
    counts_.assign(buckets, 0);
  }
  std::vector<std::int64_t> index(result.logsnr.size());
  for (std::size_t i = 0; i < index.size(); ++i) {
    index[i] = static_cast<std::int64_t>(LossStatistics::bucket_of(result.logsnr[i]));
    ++counts_[static_cast<std::size_t>(index[i])];
  }
  // Host-to-device copies and device arithmetic only: nothing waits.
  sums_.narrow(0, 0, static_cast<std::int64_t>(buckets))
      .index_add_(0, at::tensor(index, at::kLong).to(sums_.device()), result.losses);
  sums_.narrow(0, static_cast<std::int64_t>(buckets), 1).add_(result.grad_norm.to(at::kDouble));
  const at::Tensor bad = at::logical_not(at::isfinite(result.loss));
  first_bad_ = at::where(bad, at::minimum(first_bad_, at::full_like(first_bad_, step)), first_bad_);
  ++steps_;
}

void StepStatistics::check_finite() {
  if (!first_bad_.defined()) return;
  double first = first_bad_.item<double>();
  if (communicator_ != nullptr && communicator_->world_size() > 1) {
    // The earliest over the processes (each saw its share of the batch).
    const int earliest = -communicator_->max(
        std::isfinite(first) ? -static_cast<int>(first) : -std::numeric_limits<int>::max(),
        "comparing the losses' finiteness");
    first = earliest == std::numeric_limits<int>::max() ? first : static_cast<double>(earliest);
  }
  if (std::isfinite(first)) {
    throw Error("the loss was not finite at step " + format_exact(first) +
                " (a learning rate too high, or bad data?); stopped before saving anything of that "
                "step or later");
  }
}

void StepStatistics::read(LossStatistics& stats) {
  stats.reset();
  if (!sums_.defined() || steps_ == 0) return;
  check_finite();
  const std::size_t buckets = counts_.size();
  std::vector<double> host(buckets + 1);
  {
    const at::Tensor& sums = sums_;
    if (communicator_ != nullptr && communicator_->world_size() > 1) {
      // The processes' loss sums and example counts add up; the gradient norm is the same on
      // every process (of the summed gradients), so its sum is divided by the processes.
      at::Tensor counts = at::tensor(std::vector<double>(counts_.begin(), counts_.end()),
                                     sums.options().device(at::kCPU))
                              .to(sums.device());
      std::vector<at::Tensor> both{at::cat({sums, counts})};
      communicator_->all_reduce_sum(both, "the loss statistics all-reduce");
      const at::Tensor all = both[0].to(at::kCPU).contiguous();
      const double* p = all.data_ptr<double>();
      for (std::size_t b = 0; b < buckets; ++b) {
        counts_[b] = static_cast<std::int64_t>(std::llround(p[buckets + 1 + b]));
      }
      host.assign(p, p + buckets + 1);
      host[buckets] /= communicator_->world_size();
    } else {
      const at::Tensor all = sums.to(at::kCPU).contiguous();
      host.assign(all.data_ptr<double>(), all.data_ptr<double>() + buckets + 1);
    }
  }
  stats.add_sums(
      std::vector<double>(host.begin(), host.begin() + static_cast<std::ptrdiff_t>(buckets)),
      counts_, host[buckets], steps_);
  sums_.zero_();
  std::fill(counts_.begin(), counts_.end(), 0);
  steps_ = 0;
}

void LossStatistics::add_step(double grad_norm) {
  grad_sum_ += grad_norm;
  ++steps_;
}

double LossStatistics::mean_loss() const { return count_ ? total_ / count_ : 0.0; }
double LossStatistics::mean_grad_norm() const { return steps_ ? grad_sum_ / steps_ : 0.0; }

std::vector<std::pair<std::string, double>> LossStatistics::bands() const {
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t b = 0; b <= edges().size(); ++b) {
    const std::string lo = b == 0 ? "-inf" : format_exact(edges()[b - 1]);
    const std::string hi = b == edges().size() ? "inf" : format_exact(edges()[b]);
    out.emplace_back("[" + lo + "," + hi + ")", bucket_count_[b] > 0
                                                    ? sum_[b] / bucket_count_[b]
                                                    : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

}  // namespace noisesched

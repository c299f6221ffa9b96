// Training statistics and metrics.jsonl (see metrics.h).
#include "noisesched/train/metrics.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"

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

void LossStatistics::add(const std::vector<double>& logsnr, const std::vector<double>& losses) {
  for (std::size_t i = 0; i < losses.size(); ++i) {
    std::size_t bucket = 0;
    while (bucket < edges().size() && logsnr[i] >= edges()[bucket]) ++bucket;
    sum_[bucket] += losses[i];
    ++bucket_count_[bucket];
    total_ += losses[i];
    ++count_;
  }
}

void LossStatistics::add_step(double grad_norm) {
  grad_sum_ += grad_norm;
  ++steps_;
}

double LossStatistics::mean_loss() const { return count_ ? total_ / count_ : 0.0; }
double LossStatistics::mean_grad_norm() const { return steps_ ? grad_sum_ / steps_ : 0.0; }

nlohmann::ordered_json LossStatistics::buckets_json() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (std::size_t b = 0; b <= edges().size(); ++b) {
    const std::string lo = b == 0 ? "-inf" : format_exact(edges()[b - 1]);
    const std::string hi = b == edges().size() ? "inf" : format_exact(edges()[b]);
    const std::string key = "[" + lo + "," + hi + ")";
    if (bucket_count_[b] > 0) {
      out[key] = sum_[b] / bucket_count_[b];
    } else {
      out[key] = nullptr;
    }
  }
  return out;
}

MetricsFile::MetricsFile(const std::string& path, std::int64_t resume_step) : path_(path) {
  if (!std::filesystem::exists(path)) return;
  if (resume_step == 0) {
    write_file_atomically(path, "");  // a fresh run starts a fresh file
    return;
  }
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).value("step", std::int64_t{0}) <= resume_step) {
        kept += line + "\n";
      }
    } catch (const nlohmann::json::exception&) {
      // A line cut short by a crash: dropped.
    }
  }
  write_file_atomically(path, kept);
}

void MetricsFile::write(const nlohmann::ordered_json& line) {
  std::ofstream out(path_, std::ios::app);
  out << line.dump() << "\n";
  out.flush();
  if (!out) throw Error("cannot append to '" + path_ + "'");
}

}  // namespace noisesched

// The machine's CPU and step-time estimates (see machine.h).
#include "noisesched/common/machine.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <thread>

#include "noisesched/common/numbers.h"

namespace noisesched {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const std::string model(trim(line.substr(colon + 1)));
        if (!model.empty()) return model;
      }
    }
  }
  return "unknown CPU";
}

std::string cpu_vector_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "AVX-512";
  if (__builtin_cpu_supports("avx2")) return "AVX2";
  if (__builtin_cpu_supports("avx")) return "AVX";
  if (__builtin_cpu_supports("sse4.2")) return "SSE4.2";
#endif
  return "";
}

std::string cpu_description() {
  std::string text = cpu_model();
  const std::string isa = cpu_vector_isa();
  if (!isa.empty()) text += ", " + isa;
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores > 0) text += ", " + std::to_string(cores) + (cores == 1 ? " core" : " cores");
  return text;
}

StepTimer::StepTimer(int skip, int measure)
    : skip_(std::max(0, skip)), measure_(std::max(1, measure)) {}

bool StepTimer::add(double seconds) {
  ++seen_;
  if (seen_ <= skip_ || ready()) return false;
  times_.push_back(seconds);
  return ready();
}

bool StepTimer::ready() const { return static_cast<int>(times_.size()) >= measure_; }

double StepTimer::seconds_per_step() const {
  if (!ready()) return std::nan("");
  std::vector<double> sorted = times_;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

}  // namespace noisesched

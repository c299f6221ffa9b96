// noisesched/common/machine.h: what machine this is, and how long the rest of a job will take on
// it (torch-free).
//
// Times differ several-fold between machines of the same kind (the default preset's training
// step: 0.37 s on an AVX-512 EPYC, 1.33 s on an AVX2 one), so long jobs print their expected time
// measured on the machine they run on, and name the machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace noisesched {

// The CPU's model name (from /proc/cpuinfo; "unknown CPU" elsewhere).
std::string cpu_model();

// The widest vector instruction set the CPU has that matrix libraries use: "AVX-512", "AVX2",
// "AVX", "SSE4.2", or "" (not x86, or none of these).
std::string cpu_vector_isa();

// "AMD EPYC 7B13, AVX-512, 2 cores" (cores: what the machine offers).
std::string cpu_description();

// The time per step of a job, from its own steps: the first `skip` steps (one-time set-up inside
// them) are left out, and once `measure` more have been added the median of those is the
// estimate. Feed every step; ready() turns true at the step that completes the measurement.
class StepTimer {
 public:
  explicit StepTimer(int skip = 1, int measure = 5);
  // Adds one step's seconds; returns true exactly once, when the estimate has just become ready.
  bool add(double seconds);
  bool ready() const;
  double seconds_per_step() const;  // the median of the measured steps; NaN before ready()
  int measured() const { return measure_; }
  int skipped() const { return skip_; }

 private:
  int skip_, measure_;
  std::int64_t seen_ = 0;
  std::vector<double> times_;
};

}  // namespace noisesched

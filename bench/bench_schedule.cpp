// Cost of evaluating schedules: gamma(t) and 1 - gamma(t), the inverse t(logSNR) and the logSNR
// density, per family. Samplers call these a few times per step and training once per example,
// so they must stay far below the cost of a network evaluation (microseconds).
// Run: build/bench/bench_schedule
#include <benchmark/benchmark.h>

#include <vector>

#include "noisesched/schedule/schedule.h"

namespace {

const std::vector<const char*> kSpecs = {"simple_linear",    "cosine@0.2,1,1",
                                         "sigmoid@-3,3,0.9", "shifted_cosine@64,256",
                                         "ddpm_linear",      "karras"};

void BM_Variances(benchmark::State& state) {
  const noisesched::Schedule s = noisesched::Schedule::parse(kSpecs[state.range(0)]);
  state.SetLabel(kSpecs[state.range(0)]);
  double t = 0.0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.variances(t));
    t += 0.000977;
    if (t > 1.0) t -= 1.0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Variances)->DenseRange(0, 5);

void BM_TFromLogSnr(benchmark::State& state) {
  const noisesched::Schedule s = noisesched::Schedule::parse(kSpecs[state.range(0)]);
  state.SetLabel(kSpecs[state.range(0)]);
  double l = -10.0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.t_from_logsnr(l));
    l += 0.0137;
    if (l > 10.0) l -= 20.0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TFromLogSnr)->DenseRange(0, 5);

void BM_LogSnrDensity(benchmark::State& state) {
  const noisesched::Schedule s = noisesched::Schedule::parse(kSpecs[state.range(0)]);
  state.SetLabel(kSpecs[state.range(0)]);
  double l = -10.0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.logsnr_density(l));
    l += 0.0137;
    if (l > 10.0) l -= 20.0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LogSnrDensity)->DenseRange(0, 5);

}  // namespace

BENCHMARK_MAIN();

// Training-step benchmark (see bench.h).
#include "noisesched/train/bench.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <tuple>

#include "noisesched/common/error.h"
#include "noisesched/core/device_memory.h"
#include "noisesched/core/runtime.h"
#include "noisesched/data/dataset.h"
#include "noisesched/data/loader.h"
#include "noisesched/diffusion/network.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/optim/optimizer.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/train/engine.h"

namespace noisesched {
namespace {

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

nlohmann::ordered_json ops_json(const std::vector<OpTime>& ops) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const OpTime& op : ops) {
    nlohmann::ordered_json row = {
        {"name", op.name}, {"calls", op.calls}, {"self_seconds", op.self_seconds}};
    if (op.dispatches > 0) row["dispatches"] = op.dispatches;
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::ordered_json device_ops_json(const std::vector<DeviceTime>& rows) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const DeviceTime& row : rows) {
    out.push_back({{"name", row.name}, {"kernels", row.kernels}, {"device_seconds", row.seconds}});
  }
  return out;
}

// Runs `work` (`units` repetitions of the same unit: training steps, network evaluations) under
// an OpProfile. Returns the seconds per unit, each operation's calls and self seconds per unit,
// and the host synchronisations of the whole run. On a CUDA device with Kineto, runs `work` once
// more under the device profiler: each launching operation's device time per unit.
struct Profiled {
  double seconds_per_unit = 0;
  std::vector<OpTime> ops;
  std::int64_t host_syncs = 0;
  std::vector<DeviceTime> device_ops;
  std::string device_error;  // why the device profile failed ("": it ran, or was not tried)
};
Profiled profiled(const c10::Device& device, std::int64_t units, const std::function<void()>& work,
                  bool device_profile = true) {
  OpProfile profile;
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  work();
  synchronize(device);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Profiled out;
  out.ops = profile.stop();
  out.host_syncs = profile.host_syncs();
  for (OpTime& op : out.ops) {
    op.calls = (op.calls + units / 2) / units;
    op.dispatches = (op.dispatches + units / 2) / units;
    op.self_seconds /= static_cast<double>(units);
  }
  out.seconds_per_unit = seconds / static_cast<double>(units);
  if (device_profile && device.is_cuda() && device_profiler_available()) {
    // The host profile above stands without it: a device profiler that cannot start (no CUPTI,
    // another profiler running) is reported, not fatal.
    try {
      out.device_ops = device_times(record_device_trace([&] {
        work();
        synchronize(device);
      }));
    } catch (const std::exception& e) {
      out.device_error = e.what();
    }
    for (DeviceTime& row : out.device_ops) {
      row.kernels = (row.kernels + units / 2) / units;
      row.seconds /= static_cast<double>(units);
    }
  }
  return out;
}

}  // namespace

nlohmann::ordered_json TrainBenchResult::to_json() const {
  nlohmann::ordered_json out = {{"model", model},
                                {"device", device},
                                {"threads", threads},
                                {"batch_size", batch_size},
                                {"processes", processes},
                                {"steps", steps},
                                {"forward_flops_per_example", forward_flops_per_example},
                                {"flops_per_step", flops_per_step},
                                {"step_seconds", step_seconds},
                                {"images_per_s", images_per_s},
                                {"achieved_gflops", achieved_gflops},
                                {"sgemm_gflops", sgemm_gflops},
                                {"sgemm_fraction", sgemm_fraction},
                                {"warmup_steps", warmup_steps},
                                {"cuda_graphs", cuda_graphs},
                                {"graph_replays", graph_replays}};
  if (memory.measured) {
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    out["peak_device_allocated_gib"] = static_cast<double>(memory.peak_allocated) / kGiB;
    out["peak_device_reserved_gib"] = static_cast<double>(memory.peak_reserved) / kGiB;
    out["device_memory_gib"] = static_cast<double>(memory.total) / kGiB;
  }
  if (!ops.empty()) {
    out["profiled_step_seconds"] = profiled_step_seconds;
    out["host_syncs"] = host_syncs;
    out["host_syncs_per_step"] =
        static_cast<double>(host_syncs) / static_cast<double>(std::max(profiled_steps, 1));
    out["ops"] = ops_json(ops);
    if (!device_ops.empty()) out["device_ops"] = device_ops_json(device_ops);
    if (!device_error.empty()) out["device_ops_error"] = device_error;
  }
  return out;
}

double measure_sgemm_gflops(const std::string& device_name, int n, int repeats) {
  const c10::Device device = parse_device(device_name);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  const at::Tensor a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  at::Tensor c = at::mm(a, b);  // warm-up: thread pools, BLAS buffers
  synchronize(device);
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    synchronize(device);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * n * n * static_cast<double>(n) / seconds / 1e9);
  }
  return best;
}

TrainBenchResult bench_train(const RunSpec& spec, const TrainBenchOptions& options) {
  const Config& config = spec.config;
  if (options.steps < 1 || options.warmup_steps < 0) {
    throw Error("bench train: --steps must be >= 1 and --warmup >= 0");
  }
  const c10::Device device = parse_device(config.train.device);
  const auto dataset = open_dataset(config.data);
  TrainingEngine engine(spec, dataset->channels(), dataset->num_classes(), device,
                        options.communicator);
  BatchLoader loader(*dataset, engine.loader_options(), 0);

  TrainBenchResult result;
  result.model = engine.model()->describe();
  result.device = device.str();
  result.threads = runtime_info().threads;
  result.batch_size = config.train.batch_size;
  result.processes = engine.communicator().world_size();
  result.steps = options.steps;
  result.forward_flops_per_example = engine.model()->forward_flops_per_example();
  result.flops_per_step = engine.flops_per_step();

  std::vector<double> seconds;
  // With CUDA graphs, 4 more untimed steps: the eager ones before the capture and the capture.
  const int warmup = options.warmup_steps + (engine.cuda_graphs() ? 4 : 0);
  result.warmup_steps = warmup;
  reset_device_memory_peaks(device);
  for (int s = 0; s < warmup + options.steps; ++s) {
    const ByteBatch batch = loader.next();
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    engine.step(batch, s);
    synchronize(device);
    if (s >= warmup) {
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  result.cuda_graphs = engine.cuda_graphs_note();
  result.graph_replays = engine.cuda_graph_replays();
  result.memory = device_memory(device);
  if (options.profile) {
    // Separate steps, so that the hooks' cost stays out of the timed ones. Per step: calls and
    // self times divided by the steps (a step's operations are the same every step).
    // The device profile only with one process: whether it can start is each process's own
    // matter, and the steps hold collectives every process must run alike.
    Profiled p = profiled(
        device, options.steps,
        [&] {
          for (int s = 0; s < options.steps; ++s) {
            engine.step(loader.next(), warmup + options.steps + s);
          }
        },
        engine.communicator().world_size() == 1);
    result.profiled_step_seconds = p.seconds_per_unit;
    result.ops = std::move(p.ops);
    result.device_ops = std::move(p.device_ops);
    result.device_error = std::move(p.device_error);
    result.host_syncs = p.host_syncs;
    result.profiled_steps = options.steps;
  }
  result.step_seconds = median(seconds);
  result.images_per_s = config.train.batch_size / result.step_seconds;
  result.achieved_gflops = result.flops_per_step / result.step_seconds / 1e9;
  // One process has the machine to itself; with several, each has a share of the cores and a
  // product timed on one would not be the machine's rate: left at 0 (not measured).
  if (result.processes == 1) {
    result.sgemm_gflops = measure_sgemm_gflops(config.train.device, options.sgemm_size);
    result.sgemm_fraction = result.achieved_gflops / result.sgemm_gflops;
  }
  return result;
}

nlohmann::ordered_json SampleBenchResult::to_json() const {
  nlohmann::ordered_json out = {{"model", model},
                                {"device", device},
                                {"recipe", recipe},
                                {"threads", threads},
                                {"batch_size", batch_size},
                                {"evaluations", evaluations},
                                {"seconds", seconds},
                                {"images_per_s_per_evaluation", images_per_s_per_evaluation},
                                {"cuda_graphs", cuda_graphs},
                                {"graph_replays", graph_replays}};
  if (!ops.empty()) {
    out["profiled_seconds_per_evaluation"] = profiled_seconds_per_evaluation;
    out["host_syncs"] = host_syncs;
    out["ops"] = ops_json(ops);
    if (!device_ops.empty()) out["device_ops"] = device_ops_json(device_ops);
    if (!device_error.empty()) out["device_ops_error"] = device_error;
  }
  return out;
}

SampleBenchResult bench_sample(const RunSpec& spec, const SampleBenchOptions& options) {
  const Config& config = spec.config;
  if (options.batch_size < 1 || options.warmup_evaluations < 0) {
    throw Error("bench sample: --batch must be >= 1 and --warmup >= 0");
  }
  const c10::Device device = parse_device(config.train.device);
  const auto dataset = open_dataset(config.data);
  Denoiser model = seeded_model(spec, dataset->channels(), dataset->num_classes(), device);
  model->eval();
  const DiffusionSetup& setup = spec.diffusion;
  std::vector<std::int64_t> labels(static_cast<std::size_t>(options.batch_size));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    labels[i] = static_cast<std::int64_t>(i) % dataset->num_classes();
  }
  GenerateOptions generate;
  generate.recipe = InferenceRecipe::parse(options.recipe);
  generate.batch_size = options.batch_size;
  SampleBenchResult result;
  result.model = model->describe();
  result.device = device.str();
  result.recipe = generate.recipe.to_string();
  result.threads = runtime_info().threads;
  result.batch_size = options.batch_size;
  // One set of graphs for the warm-up and the timed run: each input signature runs eagerly once
  // and is recorded the second time, both within the warm-up (at least 4 evaluations, and with
  // graphs two warm-up runs).
  generate.graphs = sampling_graphs(spec.cuda_graphs, device, &result.cuda_graphs);
  int warmup_evaluations = options.warmup_evaluations;
  if (generate.graphs != nullptr) warmup_evaluations = std::max(warmup_evaluations, 4);
  if (warmup_evaluations > 0) {
    GenerateOptions warmup = generate;
    warmup.recipe.steps = warmup_evaluations;
    generate_images(model, setup, labels, warmup, device);
    // A signature that comes once per run (the first pass, without self-conditioning) runs
    // eagerly in the first warm-up run and is recorded in the second, not in the timed run.
    if (generate.graphs != nullptr) generate_images(model, setup, labels, warmup, device);
  }
  const std::int64_t replays_before = generate.graphs != nullptr ? generate.graphs->replays() : 0;
  std::int64_t evaluations = 0;
  generate.progress = [&evaluations](std::int64_t done, std::int64_t) { evaluations = done; };
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  generate_images(model, setup, labels, generate, device);
  synchronize(device);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.evaluations = evaluations;
  if (generate.graphs != nullptr) {
    result.graph_replays = generate.graphs->replays() - replays_before;
  }
  result.images_per_s_per_evaluation =
      static_cast<double>(options.batch_size) * static_cast<double>(evaluations) / result.seconds;
  if (options.profile && evaluations > 0) {
    Profiled p = profiled(device, evaluations,
                          [&] { generate_images(model, setup, labels, generate, device); });
    result.profiled_seconds_per_evaluation = p.seconds_per_unit;
    result.ops = std::move(p.ops);
    result.device_ops = std::move(p.device_ops);
    result.device_error = std::move(p.device_error);
    result.host_syncs = p.host_syncs;
  }
  return result;
}

nlohmann::ordered_json DataBenchResult::to_json() const {
  nlohmann::ordered_json out;
  out["data"] = data;
  out["batch_size"] = batch_size;
  out["rows"] = nlohmann::ordered_json::array();
  for (const Row& row : rows) {
    out["rows"].push_back({{"workers", row.workers},
                           {"batches", row.batches},
                           {"seconds", row.seconds},
                           {"images_per_s", row.images_per_s}});
  }
  return out;
}

nlohmann::ordered_json OptimizerBenchResult::to_json() const {
  nlohmann::ordered_json out = {{"model", model},
                                {"device", device},
                                {"optimizer", optimizer},
                                {"threads", threads},
                                {"parameter_tensors", parameter_tensors},
                                {"parameters", parameters},
                                {"updates", updates},
                                {"rounds", rounds}};
  nlohmann::ordered_json paths = nlohmann::ordered_json::array();
  for (const Row& row : rows) {
    paths.push_back({{"path", row.path},
                     {"seconds_per_update", row.seconds_per_update},
                     {"operations", row.operations}});
  }
  out["paths"] = std::move(paths);
  out["speedup"] = speedup;
  return out;
}

OptimizerBenchResult bench_optimizer(const RunSpec& spec, int updates, int rounds) {
  const Config& config = spec.config;
  if (updates < 1 || rounds < 1) {
    throw Error("bench optimizer: --updates and --rounds must be >= 1");
  }
  const c10::Device device = parse_device(config.train.device);
  const auto dataset = open_dataset(config.data);
  const Denoiser model = seeded_model(spec, dataset->channels(), dataset->num_classes(), device);
  const Denoiser ema = seeded_model(spec, dataset->channels(), dataset->num_classes(), device);
  OptimizerBenchResult result;
  result.model = model->describe();
  result.device = device.str();
  result.optimizer = to_string(spec.optimizer);
  result.threads = runtime_info().threads;
  result.updates = updates;
  result.rounds = rounds;
  {
    torch::NoGradGuard no_grad;
    at::manual_seed(config.train.seed);
    for (auto& p : model->parameters()) {
      p.mutable_grad() = at::randn_like(p).mul_(1e-3);
      ++result.parameter_tensors;
      result.parameters += p.numel();
    }
  }
  // One optimizer per path, each with its own moments, updating the same weights (the cost does
  // not depend on their values).
  std::vector<std::pair<std::string, std::unique_ptr<Optimizer>>> paths;
  for (const bool multi : {true, false}) {
    OptimizerOptions options = optimizer_options(spec);
    options.multi_tensor = multi;
    options.fused = FusedAdamW::kOff;
    paths.emplace_back(multi ? "multi-tensor" : "per-tensor",
                       std::make_unique<Optimizer>(*model, options));
  }
  // AdamW's fused kernel, where this LibTorch has it for the device (last, so that the first two
  // rows and the speedup keep their meaning).
  if (spec.optimizer == OptimizerKind::kAdamW && Optimizer::fused_adamw_available(device)) {
    OptimizerOptions options = optimizer_options(spec);
    options.fused = FusedAdamW::kOn;
    paths.emplace_back("fused", std::make_unique<Optimizer>(*model, options));
  }
  std::int64_t step = 0;
  const auto update = [&](Optimizer& optimizer) {
    update_weights(*model, *ema, optimizer, config.optim, config.optim.lr, step++);
  };
  for (auto& path : paths) update(*path.second);  // untimed: first allocations
  std::vector<std::vector<double>> seconds(paths.size());
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < paths.size(); ++k) {
      synchronize(device);
      const auto start = std::chrono::steady_clock::now();
      for (int u = 0; u < updates; ++u) update(*paths[k].second);
      synchronize(device);
      seconds[k].push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
          updates);
    }
  }
  for (std::size_t k = 0; k < paths.size(); ++k) {
    OptimizerBenchResult::Row row;
    row.path = paths[k].first;
    row.seconds_per_update = median(seconds[k]);
    const Profiled p = profiled(
        device, 1, [&] { update(*paths[k].second); }, /*device_profile=*/false);
    for (const OpTime& op : p.ops) {
      if (op.name == "noisesched::optimizer") row.operations = op.dispatches;
    }
    result.rows.push_back(row);
  }
  result.speedup = result.rows[1].seconds_per_update / result.rows[0].seconds_per_update;
  return result;
}

DataBenchResult bench_data(const Config& config, const std::vector<int>& workers, int batches) {
  if (batches < 1) throw Error("bench data: --batches must be >= 1");
  const auto dataset = open_dataset(config.data);
  DataBenchResult result;
  result.data = dataset->describe();
  result.batch_size = config.train.batch_size;
  // One untimed pass first, with the most workers: every timed run then reads files from the
  // page cache, and none is favoured by the one before it.
  {
    LoaderOptions options = loader_options(config);
    options.workers = *std::max_element(workers.begin(), workers.end());
    BatchLoader loader(*dataset, options, 0);
    for (int b = 0; b < batches + options.prefetch + 1; ++b) loader.next();
  }
  for (const int count : workers) {
    LoaderOptions options = loader_options(config);
    options.workers = count;
    BatchLoader loader(*dataset, options, 0);
    // Not timed: the workers start and fill the queue of `prefetch` batches, which is then
    // emptied, so that the timed batches are those the workers make while the consumer waits.
    for (int b = 0; b < options.prefetch + 1; ++b) loader.next();
    const auto start = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b) loader.next();
    DataBenchResult::Row row;
    row.workers = count;
    row.batches = batches;
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    row.images_per_s = static_cast<double>(batches) * config.train.batch_size / row.seconds;
    result.rows.push_back(row);
  }
  return result;
}

}  // namespace noisesched

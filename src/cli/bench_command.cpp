// `noisesched bench train`: training-step throughput against the machine's sgemm throughput.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/launch.h"
#include "noisesched/common/machine.h"
#include "noisesched/common/numbers.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/core/communicator.h"
#include "noisesched/core/device_profile.h"
#include "noisesched/train/bench.h"
#include "noisesched/train/engine.h"
#include "processes.h"

namespace noisesched::cli {
namespace {

struct BenchCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string device;
  TrainBenchOptions bench;
  bool json = false;
  int nproc = 0;
  std::string result_file;  // the processes of --nproc: the first writes its result here
  int profile_rows = 25;
};

// The run a benchmark times: the file, its overrides and the device, resolved.
RunSpec bench_spec(const std::string& path, const std::vector<std::string>& overrides,
                   const std::string& device) {
  Config config = load_config(path);
  for (const auto& assignment : overrides) apply_override(config, assignment);
  if (!device.empty()) config.train.device = device;
  return resolve(config);
}

// The operations of a profiled unit of work (a training step, a network evaluation) by self
// time: the largest `rows`, the rest summed, and the unit's time outside any operation (the
// program's own work between them). A scope of the program (noisesched::optimizer) says how many
// operations its own code dispatched per unit.
void print_profile(const std::string& unit, double seconds, const std::vector<OpTime>& ops,
                   int rows) {
  double in_ops = 0;
  for (const OpTime& op : ops) in_ops += op.self_seconds;
  char text[256];
  std::snprintf(text, sizeof(text),
                "profile: %.3f s per %s (the hooks cost a little), self time per %s:\n"
                "  %-52s %8s %10s %6s\n",
                seconds, unit.c_str(), unit.c_str(), "operation", "calls", "ms", "%");
  std::cout << text;
  const auto row = [&](const std::string& name, std::int64_t calls, double self) {
    std::snprintf(text, sizeof(text), "  %-52s %8s %10.1f %5.1f%%\n", name.c_str(),
                  calls < 0 ? "" : std::to_string(calls).c_str(), 1e3 * self, 100 * self / seconds);
    std::cout << text;
  };
  double rest = 0;
  std::int64_t rest_calls = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (static_cast<int>(i) < rows) {
      const std::string name =
          ops[i].dispatches > 0
              ? ops[i].name + " (" + std::to_string(ops[i].dispatches) + " operations)"
              : ops[i].name;
      row(name, ops[i].calls, ops[i].self_seconds);
    } else {
      rest += ops[i].self_seconds;
      rest_calls += ops[i].calls;
    }
  }
  if (ops.size() > static_cast<std::size_t>(rows)) {
    row("(" + std::to_string(ops.size() - static_cast<std::size_t>(rows)) + " more operations)",
        rest_calls, rest);
  }
  row("(outside any operation)", -1, std::max(0.0, seconds - in_ops));
}

// The device's time per unit by launching operation (Kineto; CUDA only), the largest `rows`, the
// rest summed; or why there is none.
void print_device_profile(const std::string& unit, const std::string& device,
                          const std::vector<DeviceTime>& rows, const std::string& error,
                          int max_rows) {
  if (device.rfind("cuda", 0) != 0) return;
  if (rows.empty()) {
    std::cout << "device time per " << unit << ": not measured ("
              << (!error.empty()                ? "the device profiler failed: " + error
                  : device_profiler_available() ? std::string("it recorded no kernel")
                                                : std::string("this LibTorch has no Kineto"))
              << ")\n";
    return;
  }
  double total = 0;
  std::int64_t kernels = 0;
  for (const DeviceTime& row : rows) {
    total += row.seconds;
    kernels += row.kernels;
  }
  char text[256];
  std::snprintf(text, sizeof(text),
                "device time per %s: %.3f ms in %lld kernels, copies and memsets, by the "
                "operation that launched them (Kineto):\n  %-52s %8s %10s %6s\n",
                unit.c_str(), 1e3 * total, static_cast<long long>(kernels), "operation", "kernels",
                "ms", "%");
  std::cout << text;
  const auto row = [&](const std::string& name, std::int64_t count, double seconds) {
    std::snprintf(text, sizeof(text), "  %-52s %8lld %10.3f %5.1f%%\n", name.c_str(),
                  static_cast<long long>(count), 1e3 * seconds,
                  total > 0 ? 100 * seconds / total : 0.0);
    std::cout << text;
  };
  double rest = 0;
  std::int64_t rest_kernels = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<int>(i) < max_rows) {
      row(rows[i].name, rows[i].kernels, rows[i].seconds);
    } else {
      rest += rows[i].seconds;
      rest_kernels += rows[i].kernels;
    }
  }
  if (rows.size() > static_cast<std::size_t>(max_rows)) {
    row("(" + std::to_string(rows.size() - static_cast<std::size_t>(max_rows)) +
            " more operations)",
        rest_kernels, rest);
  }
}

// --profile and --profile-rows, as `bench train` and `bench sample` both take them.
void add_profile_options(CLI::App* cmd, bool& profile, int& rows, const std::string& help) {
  cmd->add_flag("--profile", profile, help);
  cmd->add_option("--profile-rows", rows, "Operations listed by --profile (the rest are summed)")
      ->capture_default_str();
}

// `--nproc N`: one process with the whole batch, then N processes sharing it (each with its share
// of the threads unless --threads says otherwise), on the same machine one after the other.
int compare_processes(const BenchCommandOptions& options, const RunSpec& spec) {
  const TrainBenchResult one = bench_train(spec, options.bench);
  const std::string result_file = (std::filesystem::temp_directory_path() /
                                   ("noisesched-bench-" + std::to_string(::getpid()) + ".json"))
                                      .string();
  const int status = *launch_if_several(options.nproc, spec.config.train.dist_timeout,
                                        {"--result-file", result_file});
  if (status != 0) {
    throw Error("bench train --nproc " + std::to_string(options.nproc) +
                ": the processes failed (status " + std::to_string(status) + ")");
  }
  const auto many = nlohmann::json::parse(read_file(result_file, "the benchmark's result"));
  std::filesystem::remove(result_file);
  const double many_images = many.at("images_per_s").get<double>();
  const double efficiency = many_images / one.images_per_s;
  if (options.json) {
    nlohmann::ordered_json out;
    out["one_process"] = one.to_json();
    out["processes"] = many;
    out["scaling_efficiency"] = efficiency;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  char text[768];
  std::snprintf(text, sizeof(text),
                "%s\n"
                "device %s, batch %d, median of %d steps\n"
                "  1 process  x %d threads   %.3f s/step   %.1f images/s\n"
                "  %d processes x %d threads  %.3f s/step   %.1f images/s (%.1f per process)\n"
                "  scaling efficiency   %.0f%% (images/s of %d processes / images/s of 1)\n",
                one.model.c_str(), one.device.c_str(), one.batch_size, one.steps, one.threads,
                one.step_seconds, one.images_per_s, options.nproc, many.at("threads").get<int>(),
                many.at("step_seconds").get<double>(), many_images, many_images / options.nproc,
                100 * efficiency, options.nproc);
  std::cout << text;
  return 0;
}

int run(const BenchCommandOptions& options) {
  RunSpec spec = bench_spec(options.config_path, options.overrides, options.device);
  if (options.nproc > 1) return compare_processes(options, spec);
  RunProcess process = join_run(spec.config.train.device, spec);
  spec.config.train.device = process.device;
  const std::unique_ptr<Communicator> communicator = std::move(process.communicator);
  TrainBenchOptions bench = options.bench;
  bench.communicator = communicator.get();
  const TrainBenchResult r = bench_train(spec, bench);
  if (!communicator->first()) return 0;
  if (!options.result_file.empty()) {
    write_file_atomically(options.result_file, r.to_json().dump(2) + "\n");
    return 0;
  }
  if (options.json) {
    nlohmann::ordered_json doc = r.to_json();
    doc["cpu"] = cpu_description();
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  std::cout << "cpu " << cpu_description() << "\n";
  char text[512];
  std::snprintf(text, sizeof(text),
                "%s\n"
                "device %s, %d threads, batch %d, %d process(es), median of %d steps\n"
                "  step            %.3f s   (%.1f GFLOP: %.1f MFLOP forward per image)\n"
                "  throughput      %.1f images/s\n"
                "  achieved        %.1f GFLOP/s\n",
                r.model.c_str(), r.device.c_str(), r.threads, r.batch_size, r.processes, r.steps,
                r.step_seconds, r.flops_per_step / 1e9, r.forward_flops_per_example / 1e6,
                r.images_per_s, r.achieved_gflops);
  std::cout << text;
  std::cout << "  CUDA graphs     " << r.cuda_graphs;
  if (r.cuda_graphs == "on") {
    std::cout << ": " << r.graph_replays << " of " << r.warmup_steps + r.steps
              << " steps replayed a graph (" << r.warmup_steps
              << " untimed first; each self-conditioning branch runs 3 steps eagerly, then is "
                 "recorded)";
  }
  std::cout << "\n";
  if (r.memory.measured) {
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    std::snprintf(text, sizeof(text),
                  "  device memory   peak %.1f GiB allocated, %.1f GiB reserved, of %.1f GiB\n",
                  static_cast<double>(r.memory.peak_allocated) / kGiB,
                  static_cast<double>(r.memory.peak_reserved) / kGiB,
                  static_cast<double>(r.memory.total) / kGiB);
    std::cout << text;
  }
  if (r.processes > 1) {
    std::cout << "  sgemm           not measured with several processes (each has a share of the "
                 "cores)\n";
  } else {
    std::snprintf(text, sizeof(text),
                  "  sgemm (%dx%d)  %.1f GFLOP/s\n"
                  "  ratio           %.0f%% of sgemm\n",
                  options.bench.sgemm_size, options.bench.sgemm_size, r.sgemm_gflops,
                  100 * r.sgemm_fraction);
    std::cout << text;
  }
  if (options.bench.profile) {
    print_profile("step", r.profiled_step_seconds, r.ops, options.profile_rows);
    print_device_profile("step", r.device, r.device_ops, r.device_error, options.profile_rows);
    std::cout << "host syncs per step: "
              << format_significant(static_cast<double>(r.host_syncs) /
                                        static_cast<double>(std::max(r.profiled_steps, 1)),
                                    3)
              << " (" << r.host_syncs << " in " << r.profiled_steps
              << " profiled steps: value reads to the host, device-to-host copies)\n";
  }
  return 0;
}

struct SampleCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string device;
  SampleBenchOptions bench;
  bool json = false;
  int profile_rows = 25;
};

int run_sample(const SampleCommandOptions& options) {
  const RunSpec spec = bench_spec(options.config_path, options.overrides, options.device);
  const SampleBenchResult r = bench_sample(spec, options.bench);
  if (options.json) {
    nlohmann::ordered_json doc = r.to_json();
    doc["cpu"] = cpu_description();
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  std::cout << "cpu " << cpu_description() << "\n";
  char text[512];
  std::snprintf(text, sizeof(text),
                "%s\n"
                "device %s, %d threads, batch %d, %s\n"
                "  %lld network evaluations in %.2f s: %.3f s each\n"
                "  throughput      %.1f images/s per network evaluation\n",
                r.model.c_str(), r.device.c_str(), r.threads, r.batch_size, r.recipe.c_str(),
                static_cast<long long>(r.evaluations), r.seconds,
                r.seconds / static_cast<double>(std::max<std::int64_t>(r.evaluations, 1)),
                r.images_per_s_per_evaluation);
  std::cout << text;
  std::cout << "  CUDA graphs     " << r.cuda_graphs;
  if (r.cuda_graphs == "on") {
    std::cout << ": " << r.graph_replays << " of " << r.evaluations
              << " network evaluations replayed a graph";
  }
  std::cout << "\n";
  if (options.bench.profile) {
    print_profile("network evaluation", r.profiled_seconds_per_evaluation, r.ops,
                  options.profile_rows);
    print_device_profile("network evaluation", r.device, r.device_ops, r.device_error,
                         options.profile_rows);
    std::cout << "host syncs per step: "
              << format_significant(
                     static_cast<double>(r.host_syncs) /
                         static_cast<double>(std::max<std::int64_t>(r.evaluations, 1)),
                     3)
              << " (" << r.host_syncs << " in the profiled run of " << r.evaluations
              << " network evaluations, the images' copy to the host after each batch included)\n";
  }
  return 0;
}

struct DataCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::vector<int> workers;
  int batches = 20;
  bool json = false;
};

int run_data(const DataCommandOptions& options) {
  const Config config = bench_spec(options.config_path, options.overrides, "").config;
  std::vector<int> workers = options.workers;
  if (workers.empty()) workers.push_back(config.data.workers);
  const DataBenchResult r = bench_data(config, workers, options.batches);
  if (options.json) {
    std::cout << r.to_json().dump(2) << "\n";
    return 0;
  }
  std::cout << r.data << "\nbatch " << r.batch_size << ", " << options.batches
            << " batches timed per worker count\n";
  for (const auto& row : r.rows) {
    char text[128];
    std::snprintf(text, sizeof(text), "  %2d workers   %8.1f images/s\n", row.workers,
                  row.images_per_s);
    std::cout << text;
  }
  return 0;
}

struct OptimizerCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string device;
  int updates = 10;
  int rounds = 5;
  bool json = false;
};

int run_optimizer(const OptimizerCommandOptions& options) {
  const RunSpec spec = bench_spec(options.config_path, options.overrides, options.device);
  const OptimizerBenchResult r = bench_optimizer(spec, options.updates, options.rounds);
  if (options.json) {
    std::cout << r.to_json().dump(2) << "\n";
    return 0;
  }
  std::cout << "model: " << r.model << "\ndevice: " << r.device << ", " << r.threads << " threads\n"
            << r.parameter_tensors << " parameter tensors, "
            << format_significant(static_cast<double>(r.parameters) / 1e6, 4)
            << " M parameters; one update = gradient clipping, the " << r.optimizer
            << " step, the EMA update; median of " << r.rounds << " alternating rounds of "
            << r.updates << " updates:\n";
  for (const auto& row : r.rows) {
    char text[160];
    std::snprintf(text, sizeof(text), "  %-13s %10.3f ms per update %8lld operations\n",
                  row.path.c_str(), 1e3 * row.seconds_per_update,
                  static_cast<long long>(row.operations));
    std::cout << text;
  }
  std::cout << "per-tensor / multi-tensor time: " << format_significant(r.speedup, 3) << "\n";
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<BenchCommandOptions>();
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto* cmd = bench->add_subcommand(
      "train",
      "Time the training step of a configuration: images/s and achieved GFLOP/s (from the\n"
      "model's FLOP count) beside the measured sgemm GFLOP/s of this machine.");
  cmd->add_option("--config", options->config_path, "TOML configuration")->required();
  cmd->add_option("--set", options->overrides, "Override a key: section.key=value (repeatable)");
  cmd->add_option("--device", options->device, "cpu, cuda or cuda:N (overrides train.device)");
  cmd->add_option("--steps", options->bench.steps, "Timed steps (the median is reported)");
  cmd->add_option("--warmup", options->bench.warmup_steps, "Untimed steps first");
  cmd->add_option("--sgemm-size", options->bench.sgemm_size, "n of the n x n x n sgemm reference");
  cmd->add_flag("--json", options->json, "Print one JSON object");
  add_profile_options(cmd, options->bench.profile, options->profile_rows,
                      "After the timed steps, profile as many more: each LibTorch operation's "
                      "self time per step (in the JSON: \"ops\")");
  cmd->add_option("--nproc", options->nproc,
                  "Also time this many processes sharing each batch (after one process with the "
                  "whole batch) and print the scaling efficiency")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--result-file", options->result_file,
                  "(internal) where the first of the --nproc processes writes its result")
      ->group("");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });

  auto sample = std::make_shared<SampleCommandOptions>();
  auto* sample_cmd = bench->add_subcommand(
      "sample",
      "Time sampling from a configuration's network (initialised, untrained: the cost does not\n"
      "depend on the weights) under no-grad: images/s per network evaluation.");
  sample_cmd->add_option("--config", sample->config_path, "TOML configuration")->required();
  sample_cmd->add_option("--set", sample->overrides,
                         "Override a key: section.key=value (repeatable)");
  sample_cmd->add_option("--device", sample->device,
                         "cpu, cuda or cuda:N (overrides train.device)");
  sample_cmd->add_option("--batch", sample->bench.batch_size, "Images sampled together");
  sample_cmd->add_option("--recipe", sample->bench.recipe, "Inference recipe timed");
  sample_cmd->add_option("--warmup", sample->bench.warmup_evaluations,
                         "Untimed network evaluations first");
  sample_cmd->add_flag("--json", sample->json, "Print one JSON object");
  add_profile_options(sample_cmd, sample->bench.profile, sample->profile_rows,
                      "After the timed run, sample once more under a profile: each LibTorch "
                      "operation's self time per network evaluation (in the JSON: \"ops\")");
  sample_cmd->callback([sample, &runner] { runner = [sample] { return run_sample(*sample); }; });

  auto data = std::make_shared<DataCommandOptions>();
  auto* data_cmd = bench->add_subcommand(
      "data",
      "Time the batch loader on a configuration's data (decoding, crop, resize, flips):\n"
      "images/s for each worker count, to set beside the training step's consumption.");
  data_cmd->add_option("--config", data->config_path, "TOML configuration")->required();
  data_cmd->add_option("--set", data->overrides, "Override a key: section.key=value (repeatable)");
  data_cmd
      ->add_option("--workers", data->workers,
                   "Worker counts to time, e.g. --workers 1 2 4 (default: data.workers)")
      ->check(CLI::Range(1, 1024));
  data_cmd->add_option("--batches", data->batches, "Batches timed per worker count");
  data_cmd->add_flag("--json", data->json, "Print one JSON object");
  data_cmd->callback([data, &runner] { runner = [data] { return run_data(*data); }; });

  auto optim = std::make_shared<OptimizerCommandOptions>();
  auto* optim_cmd = bench->add_subcommand(
      "optimizer",
      "Time one optimizer update of a configuration's model (gradient clipping, the LAMB or\n"
      "AdamW step, the EMA update) on random gradients: the multi-tensor update against the\n"
      "per-tensor loop in alternating rounds, and the operations each dispatches.");
  optim_cmd->add_option("--config", optim->config_path, "TOML configuration")->required();
  optim_cmd->add_option("--set", optim->overrides,
                        "Override a key: section.key=value (repeatable)");
  optim_cmd->add_option("--device", optim->device, "cpu, cuda or cuda:N (overrides train.device)");
  optim_cmd->add_option("--updates", optim->updates, "Updates per timed round")
      ->capture_default_str();
  optim_cmd->add_option("--rounds", optim->rounds, "Rounds per path (the median is reported)")
      ->capture_default_str();
  optim_cmd->add_flag("--json", optim->json, "Print one JSON object");
  optim_cmd->callback([optim, &runner] { runner = [optim] { return run_optimizer(*optim); }; });
}

}  // namespace noisesched::cli

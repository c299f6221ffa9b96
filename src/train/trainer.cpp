// The training loop (see trainer.h).
#include "noisesched/train/trainer.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/random.h"
#include "noisesched/core/runtime.h"
#include "noisesched/data/dataset.h"
#include "noisesched/data/loader.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/eval/evaluate.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/train/checkpoint.h"
#include "noisesched/train/engine.h"
#include "noisesched/train/metrics.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kGrid = 5;  // purpose of the sample-grid noise (see engine.cpp)
constexpr std::uint64_t kEval = 6;  // purpose of the evaluation samples' noise

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signal) { g_stop_signal.store(signal); }

// Installs SIGINT/SIGTERM handlers for the life of the object, restoring the old ones after.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  int received() const { return g_stop_signal.load(); }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof(text), "%ldh%02ldm", s / 3600, (s / 60) % 60);
  } else {
    std::snprintf(text, sizeof(text), "%ldm%02lds", s / 60, s % 60);
  }
  return text;
}

// Everything a grid or checkpoint needs to name the model's data.
nlohmann::json model_state(const Config& config, const Dataset& dataset,
                           const DiffusionSetup& setup, const Denoiser& model) {
  return {{"channels", dataset.channels()},
          {"resolution", dataset.resolution()},
          {"num_classes", dataset.num_classes()},
          {"class_names", dataset.class_names()},
          {"arch", config.model.arch},
          {"parameters", parameter_count(*model)},
          {"forward_flops_per_example", model->forward_flops_per_example()},
          {"diffusion",
           {{"schedule", setup.train_schedule.to_string()},
            {"input_scale", setup.scale},
            {"normalization", to_string(setup.normalization)},
            {"target", to_string(setup.target)}}},
          {"torch_version", runtime_info().torch_version}};
}

// Samples one row per class (two unconditional rows) and writes samples/step_N.png; returns it.
std::string write_grid(const Denoiser& ema, const DiffusionSetup& setup, const Config& config,
                       int num_classes, std::int64_t step, const c10::Device& device) {
  const int columns = 8;
  std::vector<std::int64_t> labels;
  const int rows = config.model.class_conditional ? num_classes : 2;
  for (int row = 0; row < rows; ++row) {
    for (int col = 0; col < columns; ++col) {
      labels.push_back(config.model.class_conditional ? row : num_classes);
    }
  }
  GenerateOptions options;
  options.sampler.kind = parse_sampler(config.train.sample_sampler);
  options.steps = config.train.sample_steps;
  options.schedule = Schedule::parse(config.train.sample_schedule);
  options.seed = hash_values({static_cast<std::uint64_t>(config.train.seed), kGrid});
  const at::Tensor images = generate_images(ema, setup, labels, options, device);
  const fs::path folder = fs::path(config.train.out_dir) / "samples";
  create_directories(folder.string());
  const std::string path = (folder / (step_name(step) + ".png")).string();
  write_png(path, tensor_grid(images, columns));
  return path;
}

}  // namespace

TrainResult train(const TrainRequest& request, std::ostream& log) {
  Config config = request.config;
  validate_config(config);
  const std::string& out_dir = config.train.out_dir;
  std::optional<LoadedCheckpoint> checkpoint;
  if (request.resume) {
    if (!latest_checkpoint(out_dir)) {
      throw Error("--resume: '" + out_dir + "' has no checkpoint to resume (checkpoints/latest)");
    }
    checkpoint = load_checkpoint(out_dir);
    // Keys that shape the model or the trajectory must match; the others follow the request.
    Config saved = checkpoint->config;
    std::vector<std::string> conflicts;
    auto saved_fields = config_fields(saved);
    auto requested_fields = config_fields(config);
    for (std::size_t i = 0; i < saved_fields.size(); ++i) {
      if (field_value_text(saved_fields[i]) == field_value_text(requested_fields[i])) continue;
      if (saved_fields[i].changeable_on_resume) continue;
      conflicts.push_back(saved_fields[i].name() + " = " + field_value_text(requested_fields[i]) +
                          " (checkpoint: " + field_value_text(saved_fields[i]) + ")");
    }
    if (!conflicts.empty()) {
      std::string text;
      for (const auto& c : conflicts) text += "\n  " + c;
      throw Error("--resume: the configuration differs from checkpoint '" + checkpoint->path +
                  "' in keys that cannot change mid-run:" + text);
    }
  } else if (const auto existing = latest_checkpoint(out_dir)) {
    throw Error("'" + out_dir + "' already holds a run (" + *existing +
                "); continue it with --resume, or set another train.out_dir");
  }

  const c10::Device device = parse_device(config.train.device);
  const auto dataset = open_dataset(config.data);
  log << "data: " << dataset->describe() << "\n";
  if (checkpoint) {
    const auto& st = checkpoint->state;
    if (st.value("channels", 0) != dataset->channels() ||
        st.value("num_classes", 0) != dataset->num_classes()) {
      throw Error("--resume: checkpoint " + checkpoint->path + " was trained on " +
                  std::to_string(st.value("channels", 0)) + "-channel data with " +
                  std::to_string(st.value("num_classes", 0)) + " classes; this data set has " +
                  std::to_string(dataset->channels()) + " and " +
                  std::to_string(dataset->num_classes()));
    }
  }
  TrainingEngine engine(config, dataset->channels(), dataset->num_classes(), device);
  const DiffusionSetup& setup = engine.setup();
  log << "model: " << engine.model()->describe() << "\n";
  log << "diffusion: schedule " << setup.train_schedule.to_string()
      << ", b = " << format_exact(setup.scale) << ", normalization "
      << to_string(setup.normalization) << ", target " << to_string(setup.target) << "; device "
      << device.str() << ", " << runtime_info().threads << " threads\n";

  std::int64_t step = 0;
  if (checkpoint) {
    engine.load(*checkpoint);
    step = checkpoint->step;
    log << "resumed from " << checkpoint->path << " at step " << step << "\n";
  }
  const nlohmann::json state_base = model_state(config, *dataset, setup, engine.model());

  create_directories(out_dir);
  write_file_atomically((fs::path(out_dir) / "config.toml").string(), config_to_toml(config));
  MetricsFile metrics((fs::path(out_dir) / "metrics.jsonl").string(), step);

  TrainResult result;
  result.first_step = step;
  result.last_step = step;
  result.checkpoint = checkpoint ? checkpoint->path : "";
  const std::int64_t total = config.train.steps;
  const std::int64_t stop_at =
      request.stop_after ? std::min<std::int64_t>(total, step + *request.stop_after) : total;
  if (step >= total) {
    log << "nothing to do: the run has completed " << step << " of " << total << " steps\n";
    return result;
  }

  // Evaluation during training: the extractor and reference statistics are loaded (or computed
  // and cached) before the first step, so a missing extractor fails now, not hours later.
  std::unique_ptr<FeatureExtractor> extractor;
  ReferenceFeatures reference;
  EvalSettings eval_settings;
  GenerateOptions eval_generate;
  if (config.eval.every > 0) {
    const std::string cache = config.eval.cache == "auto" ? default_cache_dir() : config.eval.cache;
    extractor = load_extractor(config.eval.extractor == "auto"
                                   ? default_extractor_path(config.data.dataset, cache)
                                   : config.eval.extractor,
                               device);
    log << "eval: every " << config.eval.every << " steps, " << config.eval.num << " images, "
        << config.eval.metrics << "; extractor " << extractor->describe() << "\n";
    DataConfig reference_data = config.data;
    reference_data.split = "train";
    reference_data.limit = 0;
    reference =
        reference_features(*extractor, reference_data, cache,
                           [&log](const std::string& line) { log << "eval " << line << "\n"; });
    eval_settings.metrics = MetricSelection::parse(config.eval.metrics);
    eval_settings.seed = hash_values({static_cast<std::uint64_t>(config.train.seed), kEval});
    eval_generate.sampler.kind = parse_sampler(config.eval.sampler);
    eval_generate.steps = config.eval.steps;
    eval_generate.schedule = Schedule::parse(config.eval.schedule);
    eval_generate.seed = eval_settings.seed;
  }
  const auto evaluate = [&](std::int64_t at_step) {
    const auto begin = std::chrono::steady_clock::now();
    nlohmann::ordered_json scores = sample_and_evaluate(
        engine.ema(), setup, dataset->num_classes(), config.model.class_conditional, eval_generate,
        config.eval.num, *extractor, reference, eval_settings, device);
    scores["extractor"] = extractor->kind() + ":" + extractor->fingerprint();
    scores["sampler"] = config.eval.sampler;
    scores["steps"] = config.eval.steps;
    scores["schedule"] = eval_generate.schedule.to_string();
    scores["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    nlohmann::ordered_json line;
    line["step"] = at_step;
    line["eval"] = scores;
    metrics.write(line);
    log << (request.progress_bar ? "\r\033[K" : "") << "eval step " << at_step << ": "
        << scores.dump() << "\n";
  };

  BatchLoader loader(*dataset, loader_options(config), step);

  StopSignals signals;
  LossStatistics stats;
  const int batch = config.train.batch_size;
  auto interval_start = std::chrono::steady_clock::now();
  const auto run_start = interval_start;
  std::int64_t interval_steps = 0;
  double last_lr = 0;

  auto save = [&](std::int64_t done) {
    result.checkpoint = save_checkpoint(out_dir, engine.checkpoint_content(done, state_base),
                                        config.train.keep_checkpoints);
  };

  while (step < stop_at) {
    StepResult step_result;
    try {
      step_result = engine.step(loader.next(), step);
    } catch (const Error& e) {
      throw Error(std::string(e.what()) +
                  (result.checkpoint.empty()
                       ? std::string("; no checkpoint was written yet")
                       : "; the last good checkpoint is " + result.checkpoint));
    }
    last_lr = step_result.lr;
    stats.add(step_result.logsnr, step_result.losses);
    stats.add_step(step_result.grad_norm);
    ++step;
    ++interval_steps;
    result.last_step = step;

    const int stop_signal = signals.received();
    const bool finishing = step == stop_at || stop_signal != 0;
    const bool log_line = step % config.train.log_every == 0 || finishing;
    if (log_line || request.progress_bar) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - interval_start).count();
      const double per_step = seconds / std::max<std::int64_t>(interval_steps, 1);
      const double images_per_s = batch / std::max(per_step, 1e-9);
      const double elapsed = std::chrono::duration<double>(now - run_start).count();
      char text[256];
      std::snprintf(text, sizeof(text),
                    "step %lld/%lld  loss %.4f  lr %.2e  grad %.3f  %.0f img/s  %.3f s/step  "
                    "elapsed %s  left %s",
                    static_cast<long long>(step), static_cast<long long>(total), stats.mean_loss(),
                    last_lr, stats.mean_grad_norm(), images_per_s, per_step,
                    duration_text(elapsed).c_str(),
                    duration_text((total - step) * per_step).c_str());
      if (request.progress_bar) {
        // A bar of 20 cells, redrawn every step on the terminal line.
        const int filled = static_cast<int>(20 * step / std::max<std::int64_t>(total, 1));
        log << "\r\033[K[" << std::string(filled, '#') << std::string(20 - filled, '.') << "] "
            << text << (finishing ? "\n" : "") << std::flush;
      } else {
        log << text << "\n" << std::flush;
      }
      if (log_line) {
        result.last_loss = stats.mean_loss();
        nlohmann::ordered_json line;
        line["step"] = step;
        line["epoch"] = static_cast<double>(step) * batch / static_cast<double>(dataset->size());
        line["loss"] = stats.mean_loss();
        line["loss_by_logsnr"] = stats.buckets_json();
        line["lr"] = last_lr;
        line["grad_norm"] = stats.mean_grad_norm();
        line["images_per_s"] = images_per_s;
        line["elapsed_s"] = elapsed;
        metrics.write(line);
        stats.reset();
        interval_steps = 0;
        interval_start = std::chrono::steady_clock::now();
      }
    }
    if (config.train.sample_every > 0 && step % config.train.sample_every == 0) {
      const std::string grid =
          write_grid(engine.ema(), setup, config, dataset->num_classes(), step, device);
      log << (request.progress_bar ? "\r\033[K" : "") << "wrote " << grid << "\n";
    }
    if (config.eval.every > 0 && (step % config.eval.every == 0 || step == total)) {
      evaluate(step);
    }
    if (step % config.train.checkpoint_every == 0 || finishing) {
      save(step);
      if (!request.progress_bar || finishing) log << "checkpoint " << result.checkpoint << "\n";
    }
    if (stop_signal != 0) {
      result.signal = stop_signal;
      log << (stop_signal == SIGINT ? "SIGINT" : "SIGTERM") << ": stopped after step " << step
          << "; checkpoint " << result.checkpoint << " (continue with --resume)\n";
      break;
    }
  }
  if (step == total && config.train.sample_every > 0 && total % config.train.sample_every != 0) {
    log << "wrote " << write_grid(engine.ema(), setup, config, dataset->num_classes(), step, device)
        << "\n";
  }
  return result;
}

}  // namespace noisesched

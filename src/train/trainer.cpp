// The training loop (see trainer.h), split by concern:
//   RunFolder (run_folder.h)  configuration, resume check, checkpoints, metrics.jsonl;
//   TrainingLog               progress and metric lines;
//   periodic hooks            sample grids and evaluation during training;
//   train()                   the step loop that calls them.
#include "noisesched/train/trainer.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>
#include <torch/cuda.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/machine.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/progress.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/core/communicator.h"
#include "noisesched/core/runtime.h"
#include "noisesched/data/dataset.h"
#include "noisesched/data/loader.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/eval/evaluate.h"
#include "noisesched/io/checkpoint.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/report/run_report.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/train/engine.h"
#include "noisesched/train/run_folder.h"
#include "noisesched/train/step_statistics.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How long the other processes wait for the first one's own work: preparing the evaluation's
// reference features (once per data set and extractor, then cached) and writing a checkpoint.
constexpr double kPreparePatienceSeconds = 24 * 3600;
constexpr double kWritePatienceSeconds = 3600;

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signal) { g_stop_signal.store(signal); }

// Installs SIGINT/SIGTERM handlers for the life of the object, restoring the old ones after.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    // Restart interrupted system calls: a signal must not fail a checkpoint write with EINTR.
    action.sa_flags = SA_RESTART;
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

// Writes the run report; one that cannot be written (an unreadable metrics line, a full disk) is
// a warning on `warn()`, and the training result stands. Returns its path, or "" when it was not
// written.
std::string report_or_warning(const std::string& run_dir,
                              const std::function<std::ostream&()>& warn) {
  try {
    return write_run_report(run_dir);
  } catch (const std::exception& e) {
    warn() << "warning: run report not written: " << e.what() << "\n";
    return "";
  }
}

// What every checkpoint's state.json says about this run (its step and training time are added
// at each save).
CheckpointState run_state(const RunSpec& spec, const Dataset& dataset, const Denoiser& model) {
  CheckpointState state = specified_state(spec);
  state.channels = dataset.channels();
  state.resolution = dataset.resolution();
  state.num_classes = dataset.num_classes();
  state.class_names = dataset.class_names();
  state.parameters = parameter_count(*model);
  state.forward_flops_per_example = model->forward_flops_per_example();
  state.torch_version = runtime_info().torch_version;
  return state;
}

// Progress on the terminal (or log lines) and one metrics line per log interval. The steps'
// losses and gradient norms are added up on the device and read once per log interval; between
// log lines the progress display shows the last interval's loss.
class TrainingLog {
 public:
  TrainingLog(const Config& config, std::int64_t dataset_size, bool progress_bar, std::ostream& out,
              Communicator* communicator)
      : config_(config),
        dataset_size_(dataset_size),
        step_stats_(communicator),
        progress_("step", config.train.steps,
                  progress_bar ? Progress::Mode::kRedraw : Progress::Mode::kLines, out),
        interval_start_(Clock::now()),
        run_start_(interval_start_) {}

  // After step `step` (1-based count); `finishing` forces a log line. Returns the metrics line to
  // write, or null.
  // The wait for the device when the interval's numbers are read is training time: it is added
  // to `train_seconds`.
  std::optional<TrainingLine> on_step(std::int64_t step, const StepResult& result,
                                      double& train_seconds, bool finishing) {
    step_stats_.add(result, step);
    last_lr_ = result.lr;
    ++interval_steps_;
    const std::int64_t total = config_.train.steps;
    const bool log_line = step % config_.train.log_every == 0 || finishing;
    if (!log_line && !progress_bar()) return std::nullopt;
    if (log_line) {
      const auto begin = Clock::now();
      step_stats_.read(stats_);  // the interval's one wait for the device
      train_seconds += seconds_since(begin);
    }
    const double seconds = seconds_since(interval_start_);
    const double per_step = seconds / std::max<std::int64_t>(interval_steps_, 1);
    const double images_per_s = config_.train.batch_size / std::max(per_step, 1e-9);
    const double elapsed = seconds_since(run_start_);
    // In the order of the log line; the priority says what a narrow terminal keeps.
    const auto field = [](const char* format, double value, int priority) {
      char text[64];
      std::snprintf(text, sizeof(text), format, value);
      return ProgressField{text, priority};
    };
    // Between log lines: the last interval's numbers (none yet before the first).
    const bool read_once = stats_.examples() > 0;
    progress_.update(
        step,
        {read_once ? field("loss %.4f", stats_.mean_loss(), 1) : ProgressField{"loss -", 1},
         field("lr %.2e", last_lr_, 5),
         read_once ? field("grad %.3f", stats_.mean_grad_norm(), 6) : ProgressField{"grad -", 6},
         field("%.0f img/s", images_per_s, 3),
         field("%.3f s/step", per_step, 7),
         {"elapsed " + duration_text(elapsed), 4},
         {"left " + duration_text((total - step) * per_step), 2}},
        log_line);
    if (finishing) progress_.end_line();
    if (!log_line) return std::nullopt;
    last_loss_ = stats_.mean_loss();
    TrainingLine line;
    line.step = step;
    line.epoch = static_cast<double>(step) * config_.train.batch_size /
                 static_cast<double>(std::max<std::int64_t>(dataset_size_, 1));
    line.loss = stats_.mean_loss();
    line.loss_by_logsnr = stats_.bands();
    line.lr = last_lr_;
    line.grad_norm = stats_.mean_grad_norm();
    line.images_per_s = images_per_s;
    line.elapsed_s = elapsed;
    line.train_s = train_seconds;
    interval_steps_ = 0;
    interval_start_ = Clock::now();
    return line;
  }

  // Throws naming the step when a loss since the last log line was not finite (before anything
  // is saved: a checkpoint, a grid, an evaluation).
  void check_finite() { step_stats_.check_finite(); }
  // A line that interrupts the progress display.
  std::ostream& note() { return progress_.interrupt(); }
  // Excludes time spent outside training steps (grids, evaluation) from the throughput.
  void pause_interval(double seconds) {
    interval_start_ +=
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
  double last_loss() const { return last_loss_; }
  bool progress_bar() const { return progress_.mode() == Progress::Mode::kRedraw; }

 private:
  const Config& config_;
  std::int64_t dataset_size_;
  StepStatistics step_stats_;
  Progress progress_;
  LossStatistics stats_;
  Clock::time_point interval_start_, run_start_;
  std::int64_t interval_steps_ = 0;
  double last_lr_ = 0, last_loss_ = 0;
};

// Samples one row per class (two unconditional rows), shared among the processes, and the first
// writes samples/step_N.png; returns it.
std::string write_grid(const Denoiser& ema, const RunSpec& spec, int num_classes, std::int64_t step,
                       const c10::Device& device, Communicator& communicator) {
  const Config& config = spec.config;
  const int columns = 8;
  std::vector<std::int64_t> labels;
  const int rows = config.model.class_conditional ? num_classes : 2;
  for (int row = 0; row < rows; ++row) {
    for (int col = 0; col < columns; ++col) {
      labels.push_back(config.model.class_conditional ? row : num_classes);
    }
  }
  GenerateOptions options;
  options.recipe = spec.sample_recipe;
  options.cuda_graphs = spec.cuda_graphs;
  options.seed =
      hash_values({static_cast<std::uint64_t>(config.train.seed), purpose::kGridSamples});
  const at::Tensor images =
      generate_images(ema, spec.diffusion, labels, options, device, communicator);
  const fs::path folder = fs::path(config.train.out_dir) / "samples";
  const std::string path = (folder / (step_name(step) + ".png")).string();
  if (communicator.first()) {
    create_directories(folder.string());
    write_png(path, tensor_grid(images, columns));
  }
  return path;
}

// Evaluation during training (SPEC section 8): the extractor and reference statistics are loaded
// (or computed and cached) when the run starts, so a missing extractor fails before the first
// step, not hours later.
class TrainingEvaluator {
 public:
  // With several processes only the first scores, so only it loads the reference features.
  TrainingEvaluator(const RunSpec& spec, const Dataset& dataset, const c10::Device& device,
                    Communicator& communicator, std::ostream& log)
      : config_(spec.config), device_(device), communicator_(communicator) {
    const Config& config = spec.config;
    const std::string cache = config.eval.cache == "auto" ? default_cache_dir() : config.eval.cache;
    extractor_ = load_extractor(config.eval.extractor == "auto"
                                    ? default_extractor_path(config.data.dataset, cache)
                                    : config.eval.extractor,
                                device);
    generate_.recipe = spec.eval_recipe;
    generate_.cuda_graphs = spec.cuda_graphs;
    log << "eval: every " << schedule_text() << ", " << config.eval.num << " images, "
        << config.eval.metrics << ", " << generate_.recipe.to_string() << "; extractor "
        << extractor_->describe() << "\n";
    DataConfig reference_data = config.data;
    reference_data.split = "train";
    reference_data.limit = 0;
    if (communicator.first()) {
      reference_ =
          reference_features(*extractor_, reference_data, cache,
                             [&log](const std::string& line) { log << "eval " << line << "\n"; });
    }
    communicator.follow_first("the evaluation's reference features", kPreparePatienceSeconds);
    settings_.metrics = spec.eval_metrics;
    settings_.seed =
        hash_values({static_cast<std::uint64_t>(config.train.seed), purpose::kEvalSamples});
    generate_.seed = settings_.seed;
    num_classes_ = dataset.num_classes();
  }

  // Whether an evaluation is due after `step` with `train_seconds` of training so far.
  // The last step is always evaluated, so every run ends with its final numbers. Processes
  // whose clocks disagree follow the first's.
  bool due(std::int64_t step, double train_seconds) const {
    if (step == config_.train.steps) return true;
    if (config_.eval.every > 0 && step % config_.eval.every == 0) return true;
    if (config_.eval.every_seconds <= 0) return false;
    const int by_time = communicator_.first() && train_seconds >= next_seconds_ ? 1 : 0;
    return communicator_.max(by_time, "agreeing on an evaluation by time") == 1;
  }

  EvaluationLine run(const Denoiser& ema, const DiffusionSetup& setup, std::int64_t step,
                     double train_seconds) {
    const auto begin = Clock::now();
    nlohmann::ordered_json scores = sample_and_evaluate(
        ema, setup, num_classes_, config_.model.class_conditional, generate_, config_.eval.num,
        *extractor_, reference_, settings_, device_, &communicator_);
    scores["extractor"] = extractor_->kind() + ":" + extractor_->fingerprint();
    scores["recipe"] = generate_.recipe.to_string();
    scores["seconds"] = seconds_since(begin);
    schedule_after(train_seconds);
    EvaluationLine line;
    line.step = step;
    line.train_s = train_seconds;
    line.eval = std::move(scores);
    return line;
  }

  // The next evaluation by time: the first multiple of eval.every_seconds after `train_seconds`
  // (also how a resumed run continues the schedule where it stood).
  void schedule_after(double train_seconds) {
    const double every = config_.eval.every_seconds;
    if (every > 0) next_seconds_ = (std::floor(train_seconds / every) + 1) * every;
  }

 private:
  std::string schedule_text() const {
    std::string text;
    if (config_.eval.every > 0) text = std::to_string(config_.eval.every) + " steps";
    if (config_.eval.every_seconds > 0) {
      text += (text.empty() ? "" : " and every ") + format_exact(config_.eval.every_seconds) +
              " s of training";
    }
    return text;
  }

  const Config& config_;
  c10::Device device_;
  Communicator& communicator_;
  std::unique_ptr<FeatureExtractor> extractor_;
  ReferenceFeatures reference_;
  EvalSettings settings_;
  GenerateOptions generate_;
  int num_classes_ = 0;
  double next_seconds_ = 0;
};

}  // namespace

TrainResult train(const TrainRequest& request, std::ostream& first_log) {
  const RunSpec& spec = request.spec;
  const Config& config = spec.config;
  std::unique_ptr<Communicator> alone;
  if (request.communicator == nullptr) alone = single_process();
  Communicator& communicator = request.communicator ? *request.communicator : *alone;
  // Only the first process logs (the others' errors still reach their stderr as exceptions).
  std::ostream null_log(nullptr);
  std::ostream& log = communicator.first() ? first_log : null_log;
  RunFolder run(config, request.resume, communicator.first());
  const auto& checkpoint = run.resume_point();

  const c10::Device device = parse_device(config.train.device);
  const auto dataset = open_dataset(config.data);
  log << "data: " << dataset->describe() << "\n";
  run.check_data(dataset->channels(), dataset->num_classes());
  TrainingEngine engine(spec, dataset->channels(), dataset->num_classes(), device, &communicator);
  const DiffusionSetup& setup = engine.setup();
  log << "model: " << engine.model()->describe() << "\n";
  log << "diffusion: schedule " << setup.train_schedule.to_string()
      << ", b = " << format_exact(setup.scale) << ", normalization "
      << to_string(setup.normalization) << ", target " << to_string(setup.target)
      << ", loss weight " << spec.loss_weighting.to_string() << ", self-conditioning "
      << format_exact(config.diffusion.self_cond_rate) << "; device " << device.str() << ", "
      << runtime_info().threads << " threads, precision " << config.train.precision;
  if (communicator.world_size() > 1) {
    log << " per process; " << communicator.world_size() << " processes ("
        << communicator.describe() << "), " << engine.loader_options().shard_size
        << " examples of each batch of " << config.train.batch_size << " on the first";
  }
  // Where graphs could matter, whether the steps replay them (and if not, why).
  if (device.is_cuda()) log << "; CUDA graphs " << engine.cuda_graphs_note();
  log << "\n";

  std::int64_t step = 0;
  double train_seconds = 0;  // time in training steps, over all sittings of the run
  if (checkpoint) {
    engine.load(*checkpoint);
    step = checkpoint->step;
    train_seconds = checkpoint->state.train_seconds;
    log << "resumed from " << checkpoint->path << " at step " << step << "\n";
  }
  // Every process resumes from the same step (a shared folder seen late on one machine would
  // give it an older `latest`), with the first process's weights.
  if (communicator.world_size() > 1) {
    const int highest = communicator.max(static_cast<int>(step), "comparing the resumed steps");
    const int lowest = -communicator.max(-static_cast<int>(step), "comparing the resumed steps");
    if (highest != lowest) {
      throw Error("the processes resumed from different checkpoints (steps " +
                  std::to_string(lowest) + " to " + std::to_string(highest) + "; this is " +
                  communicator.describe() + ", at step " + std::to_string(step) +
                  "): every process must see the same train.out_dir");
    }
    engine.synchronize();
  }
  const CheckpointState state_base = run_state(spec, *dataset, engine.model());
  if (const int removed = run.open(step)) {
    log << "run folder: removed " << removed
        << " temporaries of saves interrupted by an earlier crash\n";
  }

  TrainResult result;
  result.first_step = step;
  result.last_step = step;
  result.checkpoint = run.last_checkpoint();
  const std::int64_t total = config.train.steps;
  const std::int64_t stop_at =
      request.stop_after ? std::min<std::int64_t>(total, step + *request.stop_after) : total;
  if (step >= total) {
    log << "nothing to do: the run has completed " << step << " of " << total << " steps\n";
    // A finished run still gets its report (a run from before reports, or the main job rerun).
    if (config.train.report && communicator.first()) {
      result.report =
          report_or_warning(config.train.out_dir, [&]() -> std::ostream& { return log; });
    }
    return result;
  }

  std::unique_ptr<TrainingEvaluator> evaluator;
  if (config.eval.every > 0 || config.eval.every_seconds > 0) {
    evaluator = std::make_unique<TrainingEvaluator>(spec, *dataset, device, communicator, log);
    evaluator->schedule_after(train_seconds);
  }
  BatchLoader loader(*dataset, engine.loader_options(), step);
  StopSignals signals;
  TrainingLog training_log(config, dataset->size(), request.progress_bar, log, &communicator);

  const auto save = [&](std::int64_t done) {
    CheckpointState state = state_base;
    state.train_seconds = train_seconds;
    result.checkpoint = run.save(engine.checkpoint_content(done, state));
  };
  // The run report: at checkpoints, at most once a minute and at most 2% of the time (a run with
  // 100 000 logged steps takes ~2 s to report), and at the end. A report that cannot be written
  // (an unreadable file, say) is a warning: the training result stands.
  auto next_report = Clock::now() + std::chrono::seconds(60);
  const auto write_report = [&]() -> std::string {
    const auto begin = Clock::now();
    std::string path = report_or_warning(config.train.out_dir,
                                         [&]() -> std::ostream& { return training_log.note(); });
    const auto took = Clock::now() - begin;
    next_report = Clock::now() + std::max<Clock::duration>(std::chrono::seconds(60), 49 * took);
    return path;
  };
  // Runs a periodic hook; its time counts neither as training time nor against throughput.
  const auto outside_training = [&](const char* stage, const auto& work) {
    const auto begin = Clock::now();
    work();
    training_log.pause_interval(seconds_since(begin));
    if (request.after_stage) request.after_stage(stage, step);
  };

  // The expected time of this sitting, measured on its own first steps, printed once.
  StepTimer step_timer;
  const auto announce_time = [&](double per_step) {
    const auto multiples = [&](std::int64_t every) {  // hooks due in (step, stop_at]
      return every > 0 ? stop_at / every - step / every : 0;
    };
    const auto count = [](std::int64_t n, const std::string& what) {
      return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
    };
    const std::int64_t left = stop_at - step;
    std::string hooks = count(
        multiples(config.train.checkpoint_every) + (stop_at % config.train.checkpoint_every != 0),
        "checkpoint");
    if (const auto grids = multiples(config.train.sample_every)) {
      hooks += ", " + count(grids, "sample grid");
    }
    if (evaluator) {
      const auto by_time =
          config.eval.every_seconds > 0
              ? static_cast<std::int64_t>(std::floor(left * per_step / config.eval.every_seconds))
              : 0;
      hooks += ", " + count(multiples(config.eval.every) + by_time, "evaluation");
    }
    const std::int64_t first = result.first_step + step_timer.skipped() + 1;
    training_log.note() << "time: " << format_significant(per_step, 3)
                        << " s per training step on this machine (median of steps " << first << "-"
                        << first + step_timer.measured() - 1 << "; " << cpu_description() << ", "
                        << runtime_info().threads << " threads): the remaining " << left
                        << " steps take about " << duration_text(left * per_step)
                        << " in training steps, plus " << hooks << "\n";
  };

  // Runs `work`; an Error it throws (a failed step, a loss that was not finite) is thrown again
  // naming the last good checkpoint.
  const auto with_checkpoint_named = [&](const auto& work) {
    try {
      return work();
    } catch (const Error& e) {
      throw Error(std::string(e.what()) +
                  (result.checkpoint.empty()
                       ? std::string("; no checkpoint was written yet")
                       : "; the last good checkpoint is " + result.checkpoint));
    }
  };

  std::function<int()> pending_stop;  // several processes: the agreement started last step
  while (step < stop_at) {
    StepResult step_result;
    const auto step_begin = Clock::now();
    step_result = with_checkpoint_named([&] { return engine.step(loader.next(), step); });
    // While the expected time is measured (the sitting's first steps), each step waits for the
    // device, so that its time is the device's too; afterwards steps are queued without waiting.
    if (!step_timer.ready() && device.is_cuda()) torch::cuda::synchronize();
    const double step_seconds = seconds_since(step_begin);
    train_seconds += step_seconds;
    ++step;
    result.last_step = step;
    if (step_timer.add(step_seconds) && step < stop_at) {
      announce_time(step_timer.seconds_per_step());
    }

    // A signal to any process stops all of them after the same step: alone, this one. With
    // several processes the agreement is a collective that is read one step after it started,
    // so that reading it never makes the host wait for the step it has just queued (on a GPU,
    // the device stays busy); all processes read the same agreement after the same step.
    int stop_signal = 0;
    if (communicator.world_size() == 1) {
      stop_signal = signals.received();
    } else {
      auto next = communicator.max_later(signals.received(), "agreeing on a stop signal");
      if (pending_stop) stop_signal = pending_stop();
      pending_stop = std::move(next);
    }
    bool finishing = step == stop_at || stop_signal != 0;
    const auto line = with_checkpoint_named(
        [&] { return training_log.on_step(step, step_result, train_seconds, finishing); });
    if (line) run.write_metrics(*line);
    const bool grid_due = config.train.sample_every > 0 && step % config.train.sample_every == 0;
    const bool eval_due = evaluator && evaluator->due(step, train_seconds);
    // Nothing of a step whose loss was not finite is drawn, scored or saved (a log line has
    // just checked).
    const auto check_finite = [&] {
      with_checkpoint_named([&] {
        training_log.check_finite();
        return 0;
      });
    };
    if (!line && (grid_due || eval_due)) check_finite();
    if (grid_due) {
      outside_training("grid", [&] {
        const std::string grid =
            write_grid(engine.ema(), spec, dataset->num_classes(), step, device, communicator);
        training_log.note() << "wrote " << grid << "\n";
      });
    }
    if (eval_due) {
      outside_training("eval", [&] {
        const auto eval_line = evaluator->run(engine.ema(), setup, step, train_seconds);
        run.write_metrics(eval_line);
        training_log.note() << "eval step " << step << ": " << eval_line.eval.dump() << "\n";
      });
    }
    // A signal that came during the grid or the evaluation stops the run here, after this
    // step's checkpoint (read once more: the study runs cells back to back and must stop too).
    if (stop_signal == 0 && (grid_due || eval_due)) {
      stop_signal = communicator.max(signals.received(), "agreeing on a stop signal");
      finishing = finishing || stop_signal != 0;
    }
    if (step % config.train.checkpoint_every == 0 || finishing) {
      check_finite();
      outside_training("checkpoint", [&] {
        save(step);
        if (communicator.first() && config.train.report && !finishing &&
            Clock::now() >= next_report) {
          write_report();
        }
        communicator.follow_first("writing checkpoint " + result.checkpoint, kWritePatienceSeconds);
      });
      if (!training_log.progress_bar() || finishing) {
        log << "checkpoint " << result.checkpoint << "\n";
      }
    }
    if (stop_signal != 0) {
      result.signal = stop_signal;
      log << (stop_signal == SIGINT ? "SIGINT" : "SIGTERM") << ": stopped after step " << step
          << "; checkpoint " << result.checkpoint << " (continue with --resume)\n";
      break;
    }
  }
  // The last agreement started is completed (every process started it); a signal it carries
  // came during the last step: the run is complete, the caller must still stop (below).
  if (pending_stop) {
    const int late = pending_stop();
    if (result.signal == 0) result.signal = late;
  }
  result.last_loss = training_log.last_loss();
  if (step == total && config.train.sample_every > 0 && total % config.train.sample_every != 0) {
    log << "wrote "
        << write_grid(engine.ema(), spec, dataset->num_classes(), step, device, communicator)
        << "\n";
  }
  // The processes part here: none leaves while another may still need the first's store.
  communicator.max(0, "the end of training");
  if (config.train.report && communicator.first()) result.report = write_report();
  // A signal during the last step's checkpoint, grid or report: the run is complete, but the
  // caller must still stop (a study would otherwise go on to its next cell).
  if (result.signal == 0) result.signal = signals.received();
  return result;
}

}  // namespace noisesched

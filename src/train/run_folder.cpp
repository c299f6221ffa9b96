// The run folder (see run_folder.h).
#include "noisesched/train/run_folder.h"

#include <filesystem>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"

namespace noisesched {

namespace fs = std::filesystem;

namespace {

void refuse_existing_run(const std::string& out_dir) {
  if (const auto existing = latest_checkpoint(out_dir)) {
    throw Error("'" + out_dir + "' already holds a run (" + *existing +
                "); continue it with --resume, or set another train.out_dir");
  }
}

}  // namespace

RunFolder::RunFolder(const Config& config, bool resume, bool writer)
    : config_(config), writer_(writer) {
  const std::string& out_dir = config.train.out_dir;
  // Lock before reading anything: another writer may be rotating its checkpoints.
  if (writer_ && fs::is_directory(out_dir)) {
    lock_ = std::make_unique<FolderLock>(out_dir, "run folder");
  }
  if (!resume) {
    refuse_existing_run(out_dir);
    return;
  }
  if (!latest_checkpoint(out_dir)) {
    throw Error("--resume: '" + out_dir + "' has no checkpoint to resume (checkpoints/latest)");
  }
  checkpoint_ = load_checkpoint(out_dir);
  last_checkpoint_ = checkpoint_->path;
  // Keys that shape the model or the trajectory must match; the others follow the request.
  Config saved = checkpoint_->spec.config;
  Config requested = config;
  std::string conflicts;
  auto saved_fields = config_fields(saved);
  auto requested_fields = config_fields(requested);
  for (std::size_t i = 0; i < saved_fields.size(); ++i) {
    if (field_value_text(saved_fields[i]) == field_value_text(requested_fields[i])) continue;
    if (saved_fields[i].changeable_on_resume) continue;
    conflicts += "\n  " + saved_fields[i].name() + " = " + field_value_text(requested_fields[i]) +
                 " (checkpoint: " + field_value_text(saved_fields[i]) + ")";
  }
  if (!conflicts.empty()) {
    throw Error("--resume: the configuration differs from checkpoint '" + checkpoint_->path +
                "' in keys that cannot change mid-run:" + conflicts);
  }
}

void RunFolder::check_data(int channels, int num_classes) const {
  if (!checkpoint_) return;
  const auto& st = checkpoint_->state;
  if (st.channels != channels || st.num_classes != num_classes) {
    throw Error("--resume: checkpoint " + checkpoint_->path + " was trained on " +
                std::to_string(st.channels) + "-channel data with " +
                std::to_string(st.num_classes) + " classes; this data set has " +
                std::to_string(channels) + " and " + std::to_string(num_classes));
  }
}

int RunFolder::open(std::int64_t step) {
  opened_ = true;
  if (!writer_) return 0;
  if (!lock_) {
    lock_ = std::make_unique<FolderLock>(path(), "run folder");
    // Another process may have started a run here between the constructor and now.
    if (!checkpoint_) refuse_existing_run(path());
  }
  const fs::path folder(path());
  const int removed = remove_temporaries(path(), {"config.toml", "metrics.jsonl", "report"}) +
                      remove_temporaries((folder / "checkpoints").string(), {"step_", "latest"}) +
                      remove_temporaries((folder / "samples").string(), {"step_"});
  write_file_atomically((fs::path(path()) / "config.toml").string(), config_to_toml(config_));
  metrics_ = std::make_unique<MetricsFile>((fs::path(path()) / "metrics.jsonl").string(), step);
  return removed;
}

void RunFolder::write_metrics(const TrainingLine& line) {
  if (!opened_) throw Error("run folder '" + path() + "' is not open");
  if (writer_) metrics_->write(line);
}

void RunFolder::write_metrics(const EvaluationLine& line) {
  if (!opened_) throw Error("run folder '" + path() + "' is not open");
  if (writer_) metrics_->write(line);
}

std::string RunFolder::save(const CheckpointContent& content) {
  if (!opened_) throw Error("run folder '" + path() + "' is not open");
  last_checkpoint_ = writer_
                         ? save_checkpoint(path(), content, config_.train.keep_checkpoints)
                         : (fs::path(path()) / "checkpoints" / step_name(content.step)).string();
  return last_checkpoint_;
}

}  // namespace noisesched

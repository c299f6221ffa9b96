// noisesched/train/run_folder.h: everything a training run writes, in one place.
//
// A RunFolder owns train.out_dir: it checks a resume against the checkpoint (keys that shape the
// model or the trajectory must match), writes config.toml, appends metrics.jsonl and saves
// checkpoints. It is the one writer of the folder, so "only the first process writes" has one
// place to live when training runs on several processes.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "noisesched/common/folder_lock.h"
#include "noisesched/config/config.h"
#include "noisesched/io/checkpoint.h"
#include "noisesched/io/metrics_lines.h"

namespace noisesched {

class RunFolder {
 public:
  // Fresh runs: out_dir must not hold a checkpoint. Resumes: it must, and the configuration may
  // differ from the checkpoint's only in keys marked changeable_on_resume. Throws naming the
  // folder, the checkpoint and the differing keys. The folder is locked for this process from
  // here (or from open() when it does not exist yet) to the object's end: a second writer is
  // refused with an error naming the holder.
  // A folder opened by a process that is not the `writer` (the other processes of a multi-process
  // run) does the same checks and loads the same checkpoint, but takes no lock and writes nothing.
  RunFolder(const Config& config, bool resume, bool writer = true);

  // The checkpoint a resume starts from.
  const std::optional<LoadedCheckpoint>& resume_point() const { return checkpoint_; }
  // Checks the resumed checkpoint against the data's channels and classes.
  void check_data(int channels, int num_classes) const;

  // Creates and locks the folder, removes the temporaries of saves a killed writer left behind
  // (returns how many), writes config.toml and opens metrics.jsonl at `step` (dropping lines an
  // interrupted run wrote after its last checkpoint).
  int open(std::int64_t step);
  void write_metrics(const TrainingLine& line);
  void write_metrics(const EvaluationLine& line);
  // Saves a checkpoint atomically; returns its folder (a non-writer: the folder the writer saves).
  std::string save(const CheckpointContent& content);

  const std::string& path() const { return config_.train.out_dir; }
  // The last checkpoint written or resumed from ("" when none yet).
  const std::string& last_checkpoint() const { return last_checkpoint_; }

 private:
  Config config_;
  std::unique_ptr<FolderLock> lock_;
  std::optional<LoadedCheckpoint> checkpoint_;
  std::unique_ptr<MetricsFile> metrics_;
  std::string last_checkpoint_;
  bool writer_ = true;
  bool opened_ = false;
};

}  // namespace noisesched

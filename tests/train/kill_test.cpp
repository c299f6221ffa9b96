// A training run killed with SIGKILL at random moments, many of them in the middle of a checkpoint
// save, always resumes from a complete checkpoint: after every kill `latest` names a checkpoint
// that loads in full, its step never goes back, and a final --resume goes on from it and exits
// cleanly, leaving no temporaries. The suite runs a few kills
// (label train); the long form is scripts/kill-test.sh (100 kills by default), which sets
// NOISESCHED_KILLS.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "data/data_test_util.h"
#include "noisesched/common/folder_lock.h"
#include "noisesched/io/checkpoint.h"
#include "shell_util.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Starts `noisesched train` with its output appended to `log`.
pid_t start_training(const std::string& config, bool resume, const std::string& log,
                     const std::string& stop_after = "") {
  std::vector<std::string> args = {NOISESCHED_BINARY, "--threads", "1",          "train",
                                   "--config",        config,      "--progress", "lines"};
  if (resume) args.push_back("--resume");
  if (!stop_after.empty()) args.insert(args.end(), {"--stop-after", stop_after});
  return testing::spawn_logged(args, {}, log);
}

// Whether process `pid` has a save under way: a temporary of a step folder or of `latest` with
// its process id (leftovers of earlier, killed processes carry theirs).
bool saving(const fs::path& checkpoints, pid_t pid) {
  const std::string mark = ".tmp-" + std::to_string(pid) + "-";
  std::error_code error;
  for (fs::directory_iterator it(checkpoints, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().filename().string().find(mark) != std::string::npos) return true;
  }
  return false;
}

TEST(KillTest, EveryKillLeavesACompleteCheckpointAndTheRunGoesOn) {
  const char* requested = std::getenv("NOISESCHED_KILLS");
  const int kills = requested ? std::atoi(requested) : 6;
  ASSERT_GT(kills, 0);
  const fs::path folder = testing::fresh_folder("kill-test");
  testing::write_idx_dataset(folder / "data", "train", 40, 8, 10, false);
  const fs::path run = folder / "run";
  const std::string config = (folder / "tiny.toml").string();
  // A tiny U-Net that saves after every step, so that many kills land inside a save; the run is
  // far longer than the test, so every kill interrupts it.
  const int steps = 1000000;
  std::ofstream(config) << "[data]\ndataset = \"mnist\"\npath = \"" << (folder / "data").string()
                        << "\"\nresolution = 8\nworkers = 1\n"
                           "[model]\narch = \"unet\"\n"
                           "[unet]\nchannels = 8\nchannel_mult = [1, 2]\nres_blocks = 1\n"
                           "attention_resolutions = []\nheads = 1\n"
                           "[train]\nsteps = "
                        << steps
                        << "\nbatch_size = 4\nlog_every = 1\ncheckpoint_every = 1\n"
                           "keep_checkpoints = 2\nreport = false\nsample_every = 0\nout_dir = \""
                        << run.string() << "\"\n";
  const std::string log = (folder / "log.txt").string();
  // One uninterrupted step first, so that every kill below has a checkpoint to fall back on
  // however slowly the program starts (a sanitizer build takes seconds to load).
  {
    const pid_t first = start_training(config, false, log, "1");
    ASSERT_GT(first, 0);
    int status = 0;
    ASSERT_EQ(::waitpid(first, &status, 0), first);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "see " << log;
  }
  std::mt19937 random(12345);
  std::int64_t last_step = 1;
  int during_save = 0, complete_after_kill = 0;
  double seconds = 0;
  const auto begin = Clock::now();
  for (int k = 0; k < kills; ++k) {
    const pid_t pid = start_training(config, true, log);
    ASSERT_GT(pid, 0);
    // Half the kills wait for a save to begin and strike inside it (after 0-3 ms); the others
    // strike at a random moment of the first 2.5 s (start-up, data loading, steps or saves).
    const bool aim_at_save = k % 2 == 0;
    const auto start = Clock::now();
    if (aim_at_save) {
      while (!saving(run / "checkpoints", pid) && Clock::now() - start < std::chrono::seconds(20)) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(random() % 3000));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(random() % 2500));
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    // The dead process's own temporaries still there: the kill hit it inside a save.
    const bool in_save = saving(run / "checkpoints", pid);
    if (!WIFSIGNALED(status)) {
      // It ended by itself (finished or failed) before the kill: only a finished run is fine.
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "see " << log;
    } else {
      during_save += in_save ? 1 : 0;
    }
    ASSERT_TRUE(latest_checkpoint(run.string())) << "latest vanished after kill " << k;
    LoadedCheckpoint loaded;
    ASSERT_NO_THROW(loaded = load_checkpoint(run.string())) << "after kill " << k;
    ASSERT_GE(loaded.step, last_step) << "latest went back after kill " << k;
    ASSERT_FALSE(loaded.ema.empty());
    ASSERT_FALSE(loaded.optimizer.empty());
    last_step = loaded.step;
    ++complete_after_kill;
  }
  seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  // The run continues from wherever the kills left it, for 3 more steps, and exits cleanly.
  const pid_t pid = start_training(config, true, log, "3");
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "see " << log;
  EXPECT_EQ(load_checkpoint(run.string()).step, last_step + 3);
  for (const auto& entry : fs::directory_iterator(run / "checkpoints")) {
    EXPECT_FALSE(is_temporary_name(entry.path().filename().string())) << entry.path();
  }
  // Most aimed kills must have landed inside a save, or the test does not test saves.
  EXPECT_GE(during_save, kills / 4)
      << "only " << during_save << " of " << kills << " kills landed inside a save";
  std::cout << "kill test: " << kills << " kills in " << static_cast<int>(seconds) << " s, "
            << during_save << " inside a checkpoint save, " << complete_after_kill
            << " followed by a complete checkpoint loaded in full; "
            << "the run resumed at step " << last_step << " and went on\n";
}

}  // namespace
}  // namespace noisesched

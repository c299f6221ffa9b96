// Several processes training one model over loopback with Gloo (docs/distributed.md): the same
// weights as one process with the whole batch, resume with another process count, a killed or
// stopped process ends the run with an error within the timeout, SIGINT stops every process after
// the same step. Runs the real program (`train --nproc`, and ranks started as torchrun would).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/data_test_util.h"
#include "noisesched/common/error.h"
#include "noisesched/common/launch.h"
#include "noisesched/io/checkpoint.h"
#include "shell_util.h"
#include "train/process_group_check.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Starts the program with `args` after `noisesched --threads 1`, `env` added to the environment,
// stdout and stderr appended to `log`.
pid_t start(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& log) {
  std::vector<std::string> all = {NOISESCHED_BINARY, "--threads", "1"};
  all.insert(all.end(), args.begin(), args.end());
  return testing::spawn_logged(all, env, log);
}

// Waits for `pid`; its exit status, or 128 + the signal that killed it.
int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ =
        testing::fresh_folder(std::string("distributed-") +
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    testing::write_idx_dataset(folder_ / "data", "train", 40, 8, 10, false);
  }

  // A tiny U-Net with self-conditioning and label dropout, so that every random draw of a step
  // is split among the processes; a batch of 5 splits unevenly (3 + 2). LAMB's eps is raised
  // from 1e-8 to 1e-4: a bias followed by a normalisation has a gradient of exactly zero, which
  // the computer gets as rounding noise of about 1e-10 whose sign depends on the order of the
  // sums; with eps far below that noise, Adam-type optimizers turn it into steps of +-lr, so
  // any change of summation order (another thread count too) moves those biases by 2 lr.
  std::string config(const std::string& name, int steps, const std::string& extra = "",
                     int checkpoint_every = 1) {
    const std::string path = (folder_ / (name + ".toml")).string();
    std::ofstream(path) << "[data]\ndataset = \"mnist\"\npath = \"" << (folder_ / "data").string()
                        << "\"\nresolution = 8\nworkers = 1\n"
                           "[model]\narch = \"unet\"\n"
                           "[unet]\nchannels = 8\nchannel_mult = [1, 2]\nres_blocks = 1\n"
                           "attention_resolutions = [4]\nheads = 1\n"
                           "[diffusion]\nself_cond_rate = 0.5\nlabel_dropout = 0.2\n"
                           "[optim]\nwarmup_steps = 2\neps = 1e-4\n"
                           "[train]\nsteps = "
                        << steps << "\nbatch_size = 5\nlog_every = 1\ncheckpoint_every = "
                        << checkpoint_every
                        << "\nkeep_checkpoints = 2\nreport = false\nsample_every = 2\nout_dir = \""
                        << (folder_ / name).string() << "\"\n"
                        << extra;
    return path;
  }

  int train(const std::string& config_path, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"train", "--config", config_path, "--progress", "lines"};
    args.insert(args.end(), more.begin(), more.end());
    return wait_for(start(args, {}, log()));
  }

  std::string log() const { return (folder_ / "log.txt").string(); }
  fs::path run(const std::string& name) const { return folder_ / name; }

  fs::path folder_;
};

// Largest absolute difference between two sets of tensors of the same names.
double max_difference(const std::map<std::string, at::Tensor>& a,
                      const std::map<std::string, at::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, t] : a) {
    const auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << "missing " << name;
      continue;
    }
    if (t.numel() == 0) continue;
    worst = std::max(worst,
                     (t.to(at::kDouble) - it->second.to(at::kDouble)).abs().max().item<double>());
  }
  return worst;
}

// Weights agree to this: the processes sum their gradients in another order than one process
// sums its batch, and LAMB's per-layer trust ratios carry the rounding a few steps on.
constexpr double kTolerance = 1e-5;

void expect_same_state(const fs::path& a, const fs::path& b) {
  const LoadedCheckpoint one = load_checkpoint(a.string());
  const LoadedCheckpoint two = load_checkpoint(b.string());
  EXPECT_EQ(one.step, two.step);
  const double model = max_difference(one.model, two.model);
  const double ema = max_difference(one.ema, two.ema);
  const double optimizer = max_difference(one.optimizer, two.optimizer);
  EXPECT_LE(model, kTolerance);
  EXPECT_LE(ema, kTolerance);
  EXPECT_LE(optimizer, kTolerance);
  // Not trivially equal either: the runs moved the weights away from their start.
  std::cout << "largest difference: model " << model << ", EMA " << ema << ", optimizer "
            << optimizer << "\n";
}

TEST_F(DistributedTest, TwoProcessesGiveTheWeightsOfOneWithTheWholeBatch) {
  ASSERT_EQ(train(config("one", 4)), 0) << read_text(log());
  ASSERT_EQ(train(config("two", 4), {"--nproc", "2"}), 0) << read_text(log());
  expect_same_state(run("one"), run("two"));
  // The weights did change: the comparison is not between two copies of the initialisation.
  const LoadedCheckpoint end = load_checkpoint(run("one").string());
  const LoadedCheckpoint early =
      load_checkpoint((run("one") / "checkpoints").string() + "/" + step_name(3));
  EXPECT_GT(max_difference(end.model, early.model), 100 * kTolerance);
  // Only the first process wrote: one metrics line per step, grids of the whole batch of labels.
  std::ifstream metrics(run("two") / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  EXPECT_EQ(lines, 4);
  EXPECT_TRUE(fs::exists(run("two") / "samples" / (step_name(2) + ".png")));
  EXPECT_TRUE(fs::exists(run("two") / "samples" / (step_name(4) + ".png")));
}

TEST_F(DistributedTest, ResumeWorksWithAnotherNumberOfProcesses) {
  ASSERT_EQ(train(config("whole", 4)), 0) << read_text(log());
  // Two processes for two steps, then one process to the end; and the other way round.
  const std::string split = config("split", 4);
  ASSERT_EQ(train(split, {"--nproc", "2", "--stop-after", "2"}), 0) << read_text(log());
  ASSERT_EQ(train(split, {"--resume"}), 0) << read_text(log());
  expect_same_state(run("whole"), run("split"));
  const std::string back = config("back", 4);
  ASSERT_EQ(train(back, {"--stop-after", "1"}), 0) << read_text(log());
  ASSERT_EQ(train(back, {"--resume", "--nproc", "2", "--stop-after", "1"}), 0) << read_text(log());
  ASSERT_EQ(train(back, {"--resume", "--nproc", "2"}), 0) << read_text(log());
  expect_same_state(run("whole"), run("back"));
}

TEST_F(DistributedTest, EvaluationsDuringTrainingAreSharedAndScoredOnce) {
  testing::write_idx_dataset(folder_ / "data", "t10k", 10, 8, 10, false);
  const std::string extractor = (folder_ / "cnn.safetensors").string();
  ASSERT_EQ(wait_for(start({"featurizer", "train", "--dataset", "mnist", "--data-path",
                            (folder_ / "data").string(), "--epochs", "1", "--batch-size", "8",
                            "--progress", "lines", "--out", extractor},
                           {}, log())),
            0)
      << read_text(log());
  // By steps on one process; by steps and by training time (clocks the processes must agree on)
  // on two. 80 images in sampling batches of 64: 64 for the first process, 16 for the second.
  const std::string eval =
      "[eval]\nevery = 2\nnum = 80\nrecipe = \"ddim steps=2\"\n"
      "metrics = \"fid,cacc,bg\"\nextractor = \"" +
      extractor + "\"\ncache = \"" + (folder_ / "cache").string() + "\"\n";
  config("one", 4);
  const auto scores = [&](const std::string& name) {
    std::vector<nlohmann::json> found;
    std::ifstream metrics(run(name) / "metrics.jsonl");
    for (std::string line; std::getline(metrics, line);) {
      const auto doc = nlohmann::json::parse(line);
      if (doc.contains("eval")) found.push_back(doc);
    }
    return found;
  };
  std::ofstream(folder_ / "one_eval.toml") << read_text(folder_ / "one.toml") << eval;
  std::ofstream(folder_ / "two_eval.toml")
      << read_text(folder_ / "one.toml") << eval << "every_seconds = 1e-6\n";
  fs::remove_all(run("one"));
  ASSERT_EQ(train((folder_ / "one_eval.toml").string()), 0) << read_text(log());
  // The same run folder name for both files: move the first aside.
  fs::rename(run("one"), run("one_done"));
  ASSERT_EQ(train((folder_ / "two_eval.toml").string(), {"--nproc", "2"}), 0) << read_text(log());
  const auto one = scores("one_done"), two = scores("one");
  ASSERT_EQ(one.size(), 2u);
  ASSERT_EQ(two.size(), 4u);  // by time after every step
  for (const auto& doc : two) {
    const auto& e = doc["eval"];
    EXPECT_EQ(e["num_images"], 80);
    EXPECT_TRUE(e.contains("fid") && e.contains("cacc") && e.contains("bg")) << e;
  }
  // Steps 2 and 4 score the same images up to the rounding of the weights (3e-7).
  for (int i = 0; i < 2; ++i) {
    const auto& a = one[i]["eval"];
    const auto& b = two[2 * i + 1]["eval"];
    EXPECT_EQ(one[i]["step"], two[2 * i + 1]["step"]);
    EXPECT_NEAR(a["fid"].get<double>(), b["fid"].get<double>(), 1e-3 * a["fid"].get<double>());
    EXPECT_EQ(a["cacc"]["accuracy"], b["cacc"]["accuracy"]);
  }
  // `eval --checkpoint` goes the same shared way: two processes each sample, corrupt and
  // featurize their share (64 + 16 images), the first scores; the result is one process's.
  // The uniform noise of images 64..79 is the whole set's, drawn on the second process.
  const auto evaluate = [&](const std::string& json, std::vector<std::string> more) {
    std::vector<std::string> args = {"eval",
                                     "--checkpoint",
                                     run("one").string(),
                                     "--num",
                                     "80",
                                     "--recipe",
                                     "ddim steps=2",
                                     "--metrics",
                                     "fid,bg",
                                     "--corrupt",
                                     "uniform",
                                     "--extractor",
                                     extractor,
                                     "--cache",
                                     (folder_ / "cache").string(),
                                     "--progress",
                                     "lines",
                                     "--json",
                                     (folder_ / json).string()};
    args.insert(args.end(), more.begin(), more.end());
    EXPECT_EQ(wait_for(start(args, {}, log())), 0) << read_text(log());
    return nlohmann::json::parse(read_text(folder_ / json));
  };
  const nlohmann::json alone = evaluate("alone.json", {});
  const nlohmann::json shared = evaluate("shared.json", {"--nproc", "2"});
  EXPECT_EQ(alone["metrics"]["num_images"], 80);
  EXPECT_EQ(shared["metrics"]["num_images"], 80);
  EXPECT_EQ(shared["corrupt"], "uniform");
  // Noise images: every corner is bright, on one process and on two alike.
  EXPECT_EQ(alone["metrics"]["bg"], shared["metrics"]["bg"]);
  EXPECT_NEAR(alone["metrics"]["fid"].get<double>(), shared["metrics"]["fid"].get<double>(),
              1e-5 * alone["metrics"]["fid"].get<double>());
}

// The ranks started as torchrun starts them: the variables, no launcher in between.
std::vector<pid_t> start_ranks(const std::string& config, int world, int port,
                               const std::string& log, const std::vector<std::string>& more = {}) {
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    std::vector<std::string> args = {"train", "--config", config, "--progress", "lines"};
    args.insert(args.end(), more.begin(), more.end());
    pids.push_back(
        start(args,
              {"RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
               "LOCAL_RANK=" + std::to_string(rank), "LOCAL_WORLD_SIZE=" + std::to_string(world),
               "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port)},
              log));
  }
  return pids;
}

// Waits until `run` has a checkpoint of at least `step`.
bool wait_for_step(const fs::path& run, std::int64_t step) {
  const auto start_time = Clock::now();
  while (Clock::now() - start_time < std::chrono::seconds(120)) {
    if (latest_checkpoint(run.string())) {
      try {
        if (load_checkpoint(run.string(), false).step >= step) return true;
      } catch (const std::exception&) {
        // A save under way; look again.
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

double seconds_to_exit(pid_t pid, int& status) {
  const auto begin = Clock::now();
  status = wait_for(pid);
  return std::chrono::duration<double>(Clock::now() - begin).count();
}

TEST_F(DistributedTest, AKilledProcessEndsTheOthersWithAnErrorAndTheRunResumes) {
  // A long run with a short timeout.
  const std::string path = config("killed", 1000000, "dist_timeout = 10\n");
  const auto pids = start_ranks(path, 2, free_local_port(), log());
  ASSERT_TRUE(wait_for_step(run("killed"), 2)) << read_text(log());
  ASSERT_EQ(::kill(pids[1], SIGKILL), 0);
  EXPECT_EQ(wait_for(pids[1]), 128 + SIGKILL);
  int status = 0;
  const double seconds = seconds_to_exit(pids[0], status);
  EXPECT_EQ(status, 1) << read_text(log());
  EXPECT_LT(seconds, 10 + 5) << "rank 0 took " << seconds << " s to notice";
  const std::string text = read_text(log());
  EXPECT_NE(text.find("error: rank 0 of 2"), std::string::npos) << text;
  EXPECT_NE(text.find("failed"), std::string::npos) << text;
  // The last checkpoint is complete and the run goes on from it, here with one process.
  const std::int64_t step = load_checkpoint(run("killed").string()).step;
  ASSERT_EQ(train(path, {"--resume", "--stop-after", "2"}), 0) << read_text(log());
  EXPECT_EQ(load_checkpoint(run("killed").string()).step, step + 2);
}

TEST_F(DistributedTest, AStoppedProcessEndsTheRunWithinTheTimeout) {
  const std::string path = config("stopped", 1000000, "dist_timeout = 3\n");
  const pid_t launcher =
      start({"train", "--config", path, "--progress", "lines", "--nproc", "2"}, {}, log());
  ASSERT_TRUE(wait_for_step(run("stopped"), 2)) << read_text(log());
  // The launcher's second child is rank 1: stop it (a hang, not a death).
  const std::string children = read_text("/proc/" + std::to_string(launcher) + "/task/" +
                                         std::to_string(launcher) + "/children");
  std::istringstream ids(children);
  std::vector<pid_t> ranks;
  for (pid_t id = 0; ids >> id;) ranks.push_back(id);
  ASSERT_EQ(ranks.size(), 2u) << children;
  pid_t rank1 = -1;
  for (const pid_t id : ranks) {
    if (read_text("/proc/" + std::to_string(id) + "/environ").find(std::string("RANK=1") + '\0') !=
        std::string::npos) {
      rank1 = id;
    }
  }
  ASSERT_GT(rank1, 0);
  ASSERT_EQ(::kill(rank1, SIGSTOP), 0);
  int status = 0;
  const double seconds = seconds_to_exit(launcher, status);
  // Rank 0 times out after 3 s; the launcher then gives rank 1 the timeout and 5 s more.
  EXPECT_NE(status, 0);
  EXPECT_LT(seconds, 3 + 3 + 5 + 10) << "the run took " << seconds << " s to end";
  const std::string text = read_text(log());
  EXPECT_NE(text.find("nproc: rank 0"), std::string::npos) << text;
  EXPECT_NE(text.find("did not answer within 3 s"), std::string::npos) << text;
  EXPECT_NO_THROW(load_checkpoint(run("stopped").string()));
}

TEST_F(DistributedTest, SigintStopsEveryProcessAfterTheSameStepWithOneCheckpoint) {
  const std::string path = config("interrupted", 1000000, "", 1000);
  const pid_t launcher =
      start({"train", "--config", path, "--progress", "lines", "--nproc", "2"}, {}, log());
  // Wait for training to be under way (the metrics file gets its first lines).
  const auto begin = Clock::now();
  while (read_text(run("interrupted") / "metrics.jsonl").size() < 10 &&
         Clock::now() - begin < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(::kill(launcher, SIGINT), 0);
  EXPECT_EQ(wait_for(launcher), 128 + SIGINT) << read_text(log());
  const std::string text = read_text(log());
  const auto at = text.find("SIGINT: stopped after step ");
  ASSERT_NE(at, std::string::npos) << text;
  // One process logs; the checkpoint is of that step.
  EXPECT_EQ(text.find("SIGINT: stopped after step ", at + 1), std::string::npos) << text;
  const std::int64_t step = std::stoll(text.substr(at + 27));
  EXPECT_EQ(load_checkpoint(run("interrupted").string()).step, step);
  ASSERT_EQ(train(path, {"--resume", "--nproc", "2", "--stop-after", "1"}), 0) << read_text(log());
  EXPECT_EQ(load_checkpoint(run("interrupted").string()).step, step + 1);
}

// The Gloo group itself, without a second process: every collective of the seam on one rank.
TEST(ProcessGroup, AGlooGroupOfOneRunsEveryCollective) {
  testing::expect_a_group_of_one_works(c10::Device(c10::kCPU), "gloo");
  testing::expect_a_group_of_one_works(c10::Device(c10::kCPU), "gloo", DistBackend::kGloo);
}

TEST(ProcessGroup, NcclOnTheCpuIsRefusedNamingTheKey) {
  ProcessPlacement placement;
  placement.master_port = free_local_port();
  try {
    join_process_group(placement, c10::Device(c10::kCPU), 5, DistBackend::kNccl);
    FAIL() << "NCCL on the CPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.dist_backend = nccl needs a CUDA device"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace noisesched

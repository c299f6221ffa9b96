// The noisesched program as a user runs it: output formats, help text, exit codes, errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "shell_util.h"

namespace {

using Result = noisesched::testing::ShellResult;
using noisesched::testing::run_shell;

Result run(const std::string& args) {
  return run_shell(std::string(NOISESCHED_BINARY) + " " + args);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Cli, ScheduleCsvDefaultRows) {
  const Result r = run("schedule sigmoid@-3,3,0.9 --csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, r.output.find('\n')), "t,gamma,logsnr");
  int lines = 0;
  for (char c : r.output) lines += c == '\n';
  EXPECT_EQ(lines, 12);
  EXPECT_TRUE(contains(r.output, "\n0,1,inf\n"));
  EXPECT_TRUE(contains(r.output, "\n0.5,0.5")) << r.output;
}

TEST(Cli, ScheduleCsvWithScaleAndPoints) {
  const Result r = run("schedule cosine --scale auto:64 --resolution 128 --points 3 --csv");
  ASSERT_EQ(r.status, 0) << r.output;
  // b = 64 / 128: at t = 0.5 gamma = 1/2, so logSNR = 2 ln(1/2).
  const auto row = r.output.find("\n0.5,");
  ASSERT_NE(row, std::string::npos) << r.output;
  double t = 0, gamma = 0, logsnr = 0;
  ASSERT_EQ(std::sscanf(r.output.c_str() + row + 1, "%lf,%lf,%lf", &t, &gamma, &logsnr), 3);
  EXPECT_NEAR(gamma, 0.5, 1e-15);
  EXPECT_NEAR(logsnr, 2 * std::log(0.5), 1e-12);
}

TEST(Cli, ScheduleTableIsTheDefault) {
  const Result r = run("schedule simple_linear cosine --scale 1 --scale 0.5 --points 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "schedule simple_linear\n"));
  EXPECT_TRUE(contains(r.output, "schedule cosine:start=0,end=1,tau=1\ninput scale b = 0.5"));
  EXPECT_TRUE(contains(r.output, "sqrt(1-gamma)"));
}

TEST(Cli, HelpDocumentsEveryOptionWithItsDefault) {
  const Result r = run("schedule --help");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* text : {"--scale TEXT=[1]", "--resolution FLOAT=0", "--points INT=11", "--csv",
                           "--plot TEXT", "--title TEXT=noise schedules", "--list"}) {
    EXPECT_TRUE(contains(r.output, text)) << text << "\n" << r.output;
  }
  const Result top = run("--help");
  EXPECT_TRUE(contains(top.output, "--threads INT=0")) << top.output;
  EXPECT_TRUE(contains(top.output, "schedule")) << top.output;
}

TEST(Cli, ListShowsFamiliesWithDefaults) {
  const Result r = run("schedule --list");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "sigmoid:start=-3,end=3,tau=1"));
  EXPECT_TRUE(contains(r.output, "karras:sigma_min=0.002,sigma_max=80,rho=7"));
}

TEST(Cli, BadInputExitsNonZeroWithAClearMessage) {
  const struct {
    const char* args;
    const char* message;
  } cases[] = {
      {"schedule linear", "unknown schedule 'linear'; valid names: simple_linear, cosine"},
      {"schedule sigmoid:temp=1", "unknown key 'temp' for sigmoid; keys: start, end, tau"},
      {"schedule sigmoid@-3,3,0", "tau must be in [0.001, 1000]"},
      {"schedule sigmoid@-3,3,-1", "tau must be in [0.001, 1000]"},
      {"schedule sigmoid@3,-3", "start must be < end"},
      {"schedule cosine@0.2,1.2", "end must be in [0, 1]"},
      {"schedule cosine:clip_min=2", "clip_min must be in (0, 1)"},
      {"schedule cosine --scale 0", "input scale b must be a finite number > 0"},
      {"schedule cosine --scale -2", "input scale b must be a finite number > 0"},
      {"schedule cosine --scale abc", "'abc' is not a number"},
      {"schedule sigmoid@x", "'x' is not a number"},
      {"schedule cosine --scale auto:64", "needs the image resolution"},
      {"schedule cosine sigmoid --csv", "--csv prints one schedule at one scale"},
      {"schedule", "give at least one schedule spec"},
      {"schedule cosine --points 1", "--points must be >= 2"},
      {"--threads -1 schedule cosine", "--threads must be >= 0"},
  };
  for (const auto& c : cases) {
    const Result r = run(c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_TRUE(contains(r.output, "error: ")) << c.args << ": " << r.output;
    EXPECT_TRUE(contains(r.output, c.message)) << c.args << ": " << r.output;
    EXPECT_FALSE(contains(r.output, "nan")) << c.args << ": " << r.output;
  }
}

TEST(Cli, InferenceRecipeValuesAreCheckedFirst) {
  // Every numeric part of the inference recipe is checked before a checkpoint is read.
  const struct {
    const char* args;
    const char* message;
  } cases[] = {
      {"sample --checkpoint missing --guidance nan",
       "guidance must be finite and in [0, 100] (got nan)"},
      {"sample --checkpoint missing --guidance inf", "guidance must be finite"},
      {"sample --checkpoint missing --td -1", "td must be finite and >= 0"},
      {"sample --checkpoint missing --sampler ddpm --eta 0.5", "eta applies to ddim only"},
      {"sample --checkpoint missing --recipe 'ddim steps=0'", "steps"},
      {"eval --checkpoint missing --recipe 'ddim colour=red'", "unknown key 'colour'"},
      {"check-sampler --sampler euler", "sampler 'euler' is not known"},
      {"plot missing-run", "cannot read 'missing-run/metrics.jsonl'"},
  };
  for (const auto& c : cases) {
    const Result r = run(c.args);
    EXPECT_EQ(r.status, 1) << c.args << ": " << r.output;
    EXPECT_TRUE(contains(r.output, std::string("error: ") + c.message) ||
                contains(r.output, c.message))
        << c.args << ": " << r.output;
    EXPECT_FALSE(contains(r.output, "wrote")) << c.args;
  }
}

TEST(Cli, CommandLineMistakesExitWith2AndNameTheMistake) {
  // Every kind of malformed command line exits 2 (the README's promise), not the command-line
  // library's own code for its kind (104 conversion, 105 choice, 106 required, 109 extras, 114
  // argument count), and the message names what was wrong.
  const struct {
    const char* args;
    const char* message;
  } cases[] = {
      {"schedule cosine --no-such-option", "--no-such-option"},
      {"schedule cosine --points 99999999999999999999", "--points"},
      {"eval --num abc --checkpoint x", "--num"},
      {"eval --num 1e99 --checkpoint x", "--num"},
      {"--threads 99999999999 schedule cosine", "--threads"},
      {"eval --dataset foo --images test", "foo"},
      {"eval --num", "--num"},
      {"train", "--config is required"},
      {"train --config", "--config"},
      {"sample --checkpoint a --checkpoint b", "--checkpoint"},
      {"bench", "subcommand is required"},
      {"plot", "RUN is required"},
      {"", "subcommand is required"},
      {"frobnicate", "unknown command 'frobnicate'; commands: schedule, train"},
      {"--threads 2 frobnicate", "unknown command 'frobnicate'"},
  };
  for (const auto& c : cases) {
    const Result r = run(c.args);
    EXPECT_EQ(r.status, 2) << c.args << ": " << r.output;
    EXPECT_TRUE(contains(r.output, c.message)) << c.args << ": " << r.output;
  }
  for (const char* fine : {"--help", "--version", "schedule --help", "--threads 1 schedule cosine",
                           "--threads=1 schedule cosine", "--help frobnicate"}) {
    EXPECT_EQ(run(fine).status, 0) << fine;
  }
}

TEST(Cli, PlotWritesThePng) {
  const auto path = std::filesystem::temp_directory_path() / "noisesched-cli-test-plot.png";
  std::filesystem::remove(path);
  const Result r =
      run("schedule cosine sigmoid@-3,3,0.9 --scale 1 --scale 0.5 --plot " + path.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "(4 curves)")) << r.output;
  EXPECT_GT(std::filesystem::file_size(path), 10000u);
  std::filesystem::remove(path);
}

// Which Python draws: NOISESCHED_PYTHON and no other (a missing one is one clear error, exit 1);
// without it, the first python3 on PATH that has matplotlib.
TEST(Cli, PlotFindsItsPythonOrSaysWhatItTried) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "noisesched-cli-test-python";
  fs::remove_all(dir);
  fs::create_directories(dir / "bin");
  std::ofstream(dir / "bin" / "python3") << "#!/bin/sh\necho used >> " << (dir / "used").string()
                                         << "\nexec /usr/bin/python3 \"$@\"\n";
  fs::permissions(dir / "bin" / "python3", fs::perms::owner_all);
  const std::string plot = "schedule cosine --plot " + (dir / "x.png").string();

  Result r = run_shell("NOISESCHED_PYTHON=/nonexistent " + std::string(NOISESCHED_BINARY) + " " +
                       plot + " 2>&1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output,
            "error: cannot draw '" + (dir / "x.png").string() +
                "': NOISESCHED_PYTHON=/nonexistent (not found). Set NOISESCHED_PYTHON to a Python "
                "that has matplotlib (Debian's python3-matplotlib gives /usr/bin/python3 one), or "
                "unset it to use the first python3 on PATH that has it, then /usr/bin/python3\n");
  EXPECT_FALSE(fs::exists(dir / "x.png"));

  r = run_shell("env -u NOISESCHED_PYTHON PATH=" + (dir / "bin").string() + " " +
                NOISESCHED_BINARY + " " + plot + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "x.png"));
  EXPECT_TRUE(fs::exists(dir / "used")) << "PATH's python3 did not draw";
  fs::remove_all(dir);
}

TEST(Cli, CheckSamplerOnAClippedScheduleIsFinite) {
  // The defect this guards: dpmpp_2m divided 0 by 0 where the schedule is clipped before t = 1.
  const Result r =
      run("check-sampler --sampler dpmpp_2m --steps 100 --schedule cosine@0.2,1,3 --json "
          "--samples 500");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "nan")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"recipe\": \"dpmpp_2m steps=100")) << r.output;
}

TEST(Cli, TimeToFidPlotFromMetricsFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "noisesched-cli-test-curves";
  fs::remove_all(dir);
  for (const char* name : {"a", "b"}) {
    fs::create_directories(dir / name);
    std::FILE* f = std::fopen((dir / name / "metrics.jsonl").c_str(), "w");
    std::fputs("{\"step\": 10, \"loss\": 0.5}\n", f);
    std::fputs(
        "{\"step\": 10, \"train_s\": 60, \"eval\": {\"fid\": 300, \"cacc\": "
        "{\"accuracy\": 0.4}}}\n",
        f);
    std::fputs(
        "{\"step\": 20, \"train_s\": 120, \"eval\": {\"fid\": 200, \"cacc\": "
        "{\"accuracy\": 0.6}}}\n",
        f);
    std::fclose(f);
  }
  const fs::path png = dir / "curves.png";
  const Result r = run("plot " + (dir / "a").string() + " " + (dir / "b").string() +
                       " --metric fid --metric cacc --out " + png.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "(2 runs)")) << r.output;
  EXPECT_GT(fs::file_size(png), 10000u);
  const Result missing =
      run("plot " + (dir / "a").string() + " --metric kid --out " + (dir / "x.png").string());
  EXPECT_NE(missing.status, 0);
  EXPECT_TRUE(contains(missing.output, "no evaluation of 'kid'")) << missing.output;
  fs::remove_all(dir);
}

TEST(Cli, InfoReportsThreads) {
  const Result r = run("--threads 1 info");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "threads 1 of")) << r.output;
  EXPECT_TRUE(contains(r.output, "LibTorch ")) << r.output;
}

}  // namespace

// ---- train, bench, noised-strip on a tiny data set --------------------------------------------

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "data/data_test_util.h"

namespace {

namespace fs = std::filesystem;

// A tiny RIN on 8x8 images, written as a config file; returns its path.
std::string tiny_config(const fs::path& folder, int steps) {
  const auto data = folder / "data";
  noisesched::testing::write_idx_dataset(data, "train", 40, 8, 10, true);
  noisesched::testing::write_idx_dataset(data, "t10k", 10, 8, 10, true);
  const auto path = folder / "tiny.toml";
  std::ofstream(path)
      << "[data]\ndataset = \"mnist\"\npath = \"" << data.string()
      << "\"\nresolution = 8\n"
         "[rin]\npatch_size = 2\nlatents = 4\nlatent_dim = 16\ninterface_dim = 8\n"
         "blocks = 1\nlayers_per_block = 1\nheads = 2\ncross_heads = 2\n"
         "[train]\nsteps = "
      << steps << "\nbatch_size = 4\nlog_every = 1\ncheckpoint_every = 1000\nreport = false\n"
      << "sample_every = 0\nout_dir = \"" << (folder / "run").string() << "\"\n";
  return path.string();
}

TEST(CliTrain, TrainsWritesOutputsAndResumes) {
  const auto folder = noisesched::testing::fresh_folder("cli-train");
  const std::string config = tiny_config(folder, 4);
  Result r = run("train --config " + config + " --stop-after 2 --progress lines");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "trained to step 2 of 4")) << r.output;
  EXPECT_TRUE(contains(r.output, "step 2/4  loss ")) << r.output;
  EXPECT_TRUE(fs::exists(folder / "run" / "checkpoints" / "step_00000002" / "ema.safetensors"));
  r = run("train --config " + config);
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "already holds a run")) << r.output;
  r = run("train --config " + config +
          " --resume --set train.sample_every=4 --set 'train.sample_recipe=ddim steps=2'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "resumed from")) << r.output;
  EXPECT_TRUE(contains(r.output, "trained to step 4 of 4")) << r.output;
  EXPECT_TRUE(fs::exists(folder / "run" / "samples" / "step_00000004.png"));
}

// The screen a terminal of `width` columns shows after `output`: carriage return, newline,
// clear to end of line and automatic wrapping at the last column, as a VT100 does.
std::vector<std::string> screen_rows(const std::string& output, std::size_t width) {
  std::vector<std::string> rows(1);
  std::size_t column = 0;
  for (std::size_t i = 0; i < output.size(); ++i) {
    const char c = output[i];
    if (c == '\r') {
      column = 0;
    } else if (c == '\n') {
      rows.emplace_back();
      column = 0;
    } else if (c == '\033' && output.compare(i, 3, "\033[K") == 0) {
      rows.back().resize(std::min(rows.back().size(), column));
      i += 2;
    } else {
      if (column == width) {  // the character after the last column goes to the next row
        rows.emplace_back();
        column = 0;
      }
      if (rows.back().size() <= column) rows.back().resize(column + 1, ' ');
      rows.back()[column++] = c;
    }
  }
  return rows;
}

TEST(CliTrain, ProgressHoldsOneLineOfTheTerminalAt80And120Columns) {
  // In a pseudo-terminal (util-linux `script`) of 80 and 120 columns, the redrawn progress of 40
  // steps occupies one row of the screen, not one per step, and keeps the loss and time left.
  for (int columns : {80, 120}) {
    const auto folder =
        noisesched::testing::fresh_folder("cli-progress-" + std::to_string(columns));
    const std::string config = tiny_config(folder, 40);
    const std::string inner = "stty cols " + std::to_string(columns) + " rows 40; " +
                              NOISESCHED_BINARY + " train --config " + config +
                              " --set train.log_every=10";
    const Result r = run_shell("script -qec '" + inner + "' /dev/null");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto rows = screen_rows(r.output, static_cast<std::size_t>(columns));
    int progress_rows = 0;
    for (const auto& row : rows) {
      progress_rows += contains(row, "/40") || contains(row, "img/s") || contains(row, "left ");
      EXPECT_LE(row.size(), static_cast<std::size_t>(columns)) << row;
    }
    EXPECT_EQ(progress_rows, 1) << columns << " columns:\n" << r.output;
    bool final_line = false;
    for (const auto& row : rows) {
      final_line = final_line || (contains(row, "step ") && contains(row, "40/40") &&
                                  contains(row, "loss ") && contains(row, "left "));
    }
    EXPECT_TRUE(final_line) << r.output;
  }
}

TEST(CliTrain, ConfigErrorsNameTheKeyOrFile) {
  const auto folder = noisesched::testing::fresh_folder("cli-train-errors");
  const std::string config = tiny_config(folder, 4);
  Result r = run("train --config " + (folder / "missing.toml").string());
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "cannot read config file")) << r.output;
  EXPECT_TRUE(contains(r.output, "(No such file or directory)")) << r.output;
  r = run("train --config " + folder.string());
  EXPECT_TRUE(
      contains(r.output, "cannot read config file '" + folder.string() + "' (it is a folder)"))
      << r.output;
  std::ofstream(folder / "broken.toml") << "[train]\nsteps = = 3\n";
  r = run("train --config " + (folder / "broken.toml").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.output, (folder / "broken.toml").string() + ":2:9: ")) << r.output;
  r = run("train --config " + config + " --set rin.latent=3");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "unknown key 'rin.latent'")) << r.output;
  r = run("train --config " + config + " --set diffusion.target=score");
  EXPECT_TRUE(contains(r.output, "choose one of: eps, x0, v")) << r.output;
  r = run("train --config " + config + " --device cuda");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "error: ")) << r.output;
  r = run("train --config " + config + " --set train.precision=fp16");
  EXPECT_TRUE(contains(r.output, "choose one of: fp32, tf32, bf16")) << r.output;
  r = run("train --config " + config + " --set train.precision=bf16");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "train.precision = bf16 needs a CUDA device")) << r.output;
  EXPECT_FALSE(fs::exists(folder / "run" / "checkpoints")) << "a refused run wrote checkpoints";
  r = run("train --config " + config + " --set data.path=" + (folder / "nothing").string());
  EXPECT_TRUE(contains(r.output, "is data.path an MNIST-layout folder")) << r.output;
}

TEST(CliAdvise, PrintsTheBAndTheSettingsToTrainWith) {
  const auto folder = noisesched::testing::fresh_folder("cli-advise");
  tiny_config(folder, 4);  // writes the tiny IDX data set
  const std::string data = "--dataset mnist --data-path " + (folder / "data").string();
  Result r = run("advise " + data + " --resolution 16,32 --reference 8 --images 20");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "predicted b")) << r.output;
  // Upsampled images: about the rule 8 / resolution (the data are 8x8 images).
  EXPECT_TRUE(contains(r.output,
                       "16 px: --set data.resolution=16 --set "
                       "diffusion.schedule=simple_linear --set diffusion.input_scale=0.5"))
      << r.output;
  r = run("advise " + data + " --resolution 0");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.output, "--resolution 0 is outside [1, 1024]")) << r.output;
  r = run("advise --resolution 64 --dataset mnist --data-path " + (folder / "nothing").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.output, "is data.path an MNIST-layout folder")) << r.output;
}

TEST(CliTrain, SigintFinishesTheStepSavesAndExits130) {
  const auto folder = noisesched::testing::fresh_folder("cli-train-sigint");
  const std::string config = tiny_config(folder, 100000);
  const std::string log = (folder / "log.txt").string();
  std::vector<std::string> args = {NOISESCHED_BINARY, "train", "--config", config,
                                   "--progress",      "lines"};
  const pid_t pid = noisesched::testing::spawn_logged(args, {}, log, /*truncate=*/true);
  ASSERT_GT(pid, 0);
  // Wait until a few steps are logged, then interrupt.
  const auto metrics = folder / "run" / "metrics.jsonl";
  for (int i = 0; i < 600 && (!fs::exists(metrics) || fs::file_size(metrics) < 400); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(contains(text, "SIGINT: stopped after step")) << text;
  EXPECT_TRUE(contains(text, "continue with --resume")) << text;
  // The checkpoint holds the step the message names.
  const auto at = text.find("SIGINT: stopped after step ");
  const long step = std::stol(text.substr(at + 27));
  char name[32];
  std::snprintf(name, sizeof(name), "step_%08ld", step);
  EXPECT_TRUE(fs::exists(folder / "run" / "checkpoints" / name / "state.json")) << name;
}

TEST(CliBench, PrintsThroughputBesideSgemm) {
  const auto folder = noisesched::testing::fresh_folder("cli-bench");
  const std::string config = tiny_config(folder, 4);
  const Result r =
      run("bench train --config " + config + " --steps 2 --warmup 1 --sgemm-size 256 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* key : {"\"images_per_s\"", "\"achieved_gflops\"", "\"sgemm_gflops\"",
                          "\"sgemm_fraction\"", "\"flops_per_step\""}) {
    EXPECT_TRUE(contains(r.output, key)) << key << r.output;
  }
}

TEST(CliBench, ProfileSplitsTheStepByOperation) {
  const auto folder = noisesched::testing::fresh_folder("cli-bench-profile");
  const std::string config = tiny_config(folder, 4);
  Result r = run("bench train --config " + config +
                 " --steps 2 --warmup 1 --sgemm-size 64 --profile --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto doc = nlohmann::json::parse(r.output);
  const double step = doc.at("profiled_step_seconds").get<double>();
  EXPECT_GT(step, 0);
  double total = 0, optimizer = -1;
  std::int64_t products = 0;
  for (const auto& op : doc.at("ops")) {
    const double self = op.at("self_seconds").get<double>();
    EXPECT_GE(self, 0) << op.dump();
    total += self;
    const std::string name = op.at("name").get<std::string>();
    if (name == "noisesched::optimizer") {
      optimizer = self;
      EXPECT_EQ(op.at("calls").get<int>(), 1);  // one update per step, its operations inside
      // Dispatched by the update's own code: a fixed few, whatever the number of tensors.
      EXPECT_GT(op.at("dispatches").get<int>(), 5) << op.dump();
      EXPECT_LT(op.at("dispatches").get<int>(), 60) << op.dump();
    }
    if (name == "aten::mm" || name == "aten::addmm" || name == "aten::bmm") {
      products += op.at("calls").get<std::int64_t>();
    }
  }
  EXPECT_GT(optimizer, 0);
  EXPECT_GT(products, 0);
  // Self times partition the step's time spent in operations: they cannot add up to more.
  EXPECT_LE(total, step * 1.02);
  r = run("bench train --config " + config +
          " --steps 1 --warmup 0 --sgemm-size 64 --profile --profile-rows 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "self time per step")) << r.output;
  EXPECT_TRUE(contains(r.output, "more operations)")) << r.output;
  EXPECT_TRUE(contains(r.output, "(outside any operation)")) << r.output;

  // Sampling: per network evaluation, the same accounting.
  r = run("bench sample --config " + config +
          " --batch 6 --recipe 'ddim steps=3' --profile --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto sampled = nlohmann::json::parse(r.output);
  const double evaluation = sampled.at("profiled_seconds_per_evaluation").get<double>();
  EXPECT_GT(evaluation, 0);
  double sampled_total = 0;
  std::int64_t sampled_products = 0;
  for (const auto& op : sampled.at("ops")) {
    sampled_total += op.at("self_seconds").get<double>();
    const std::string name = op.at("name").get<std::string>();
    if (name == "aten::mm" || name == "aten::addmm" || name == "aten::bmm") {
      sampled_products += op.at("calls").get<std::int64_t>();
    }
    EXPECT_NE(name, "noisesched::optimizer");  // no training in sampling
  }
  EXPECT_GT(sampled_products, 0);
  EXPECT_LE(sampled_total, evaluation * 1.02);
  r = run("bench sample --config " + config + " --batch 6 --recipe 'ddim steps=2' --profile");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "self time per network evaluation")) << r.output;
}

TEST(CliBench, SamplingAndDataLoaderThroughput) {
  const auto folder = noisesched::testing::fresh_folder("cli-bench-sample");
  const std::string config = tiny_config(folder, 4);
  Result r = run("bench sample --config " + config + " --batch 6 --recipe 'ddim steps=3' --json");
  ASSERT_EQ(r.status, 0) << r.output;
  auto doc = nlohmann::json::parse(r.output);
  // Three timed network evaluations of 6 images each.
  EXPECT_EQ(doc["evaluations"], 3);
  EXPECT_NEAR(doc["images_per_s_per_evaluation"].get<double>(),
              6.0 * 3 / doc["seconds"].get<double>(),
              1e-6 * doc["images_per_s_per_evaluation"].get<double>());
  r = run("bench data --config " + config + " --workers 1 2 --batches 3 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  doc = nlohmann::json::parse(r.output);
  ASSERT_EQ(doc["rows"].size(), 2u);
  EXPECT_EQ(doc["rows"][0]["workers"], 1);
  EXPECT_EQ(doc["rows"][1]["workers"], 2);
  for (const auto& row : doc["rows"]) EXPECT_GT(row["images_per_s"].get<double>(), 0.0);
}

TEST(CliBench, OptimizerUpdateMultiTensorAgainstPerTensor) {
  const auto folder = noisesched::testing::fresh_folder("cli-bench-optimizer");
  const std::string config = tiny_config(folder, 4);
  Result r = run("bench optimizer --config " + config + " --updates 2 --rounds 1 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto doc = nlohmann::json::parse(r.output);
  const std::int64_t tensors = doc.at("parameter_tensors").get<std::int64_t>();
  EXPECT_GT(tensors, 20);
  ASSERT_EQ(doc.at("paths").size(), 2u);
  const auto& multi = doc["paths"][0];
  const auto& loop = doc["paths"][1];
  EXPECT_EQ(multi.at("path"), "multi-tensor");
  EXPECT_EQ(loop.at("path"), "per-tensor");
  // The loop dispatches several operations per tensor; the multi-tensor update a fixed few.
  EXPECT_GT(loop.at("operations").get<std::int64_t>(), 5 * tensors);
  EXPECT_LT(multi.at("operations").get<std::int64_t>(), 60);
  EXPECT_GT(multi.at("seconds_per_update").get<double>(), 0);
  EXPECT_NEAR(doc.at("speedup").get<double>(),
              loop["seconds_per_update"].get<double>() / multi["seconds_per_update"].get<double>(),
              1e-9);
  r = run("bench optimizer --config " + config + " --updates 1 --rounds 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "per-tensor / multi-tensor time: ")) << r.output;
  r = run("bench optimizer --config " + config + " --updates 0");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--updates and --rounds must be >= 1")) << r.output;
}

TEST(CliNoisedStrip, WritesTheFigureAndRejectsBadGammas) {
  const auto folder = noisesched::testing::fresh_folder("cli-strip");
  tiny_config(folder, 1);
  const auto out = folder / "strip.png";
  Result r = run("noised-strip --dataset mnist --data-path " + (folder / "data").string() +
                 " --resolutions 16,32 --gammas 0.5,0.1 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GT(fs::file_size(out), 5000u);
  r = run("noised-strip --dataset mnist --data-path " + (folder / "data").string() +
          " --gammas 1.5 --out " + out.string());
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "gamma 1.5 is outside [0, 1]")) << r.output;
  r = run("noised-strip --dataset mnist --data-path " + (folder / "data").string() +
          " --index 99 --out " + out.string());
  EXPECT_TRUE(contains(r.output, "--index 99 is outside [0, 10)")) << r.output;
}

}  // namespace

namespace {

TEST(CliSample, WritesImagesAndGridReproducibly) {
  const auto folder = noisesched::testing::fresh_folder("cli-sample");
  const std::string config = tiny_config(folder, 2);
  ASSERT_EQ(run("train --config " + config + " --progress lines").status, 0);
  const std::string run_dir = (folder / "run").string();
  const std::string common = "sample --checkpoint " + run_dir +
                             " --steps 3 --num 2 --classes 0,3 --seed 5 --progress lines --out ";
  Result r = run(common + (folder / "a").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(folder / "a" / "grid.png"));
  EXPECT_TRUE(fs::exists(folder / "a" / "0_0" / "0001.png"));
  EXPECT_TRUE(fs::exists(folder / "a" / "3_3" / "0000.png"));
  EXPECT_TRUE(fs::exists(folder / "a" / "samples.json"));
  {
    // Per-image files hold the image as sampled: 8x8, no frame (PNG IHDR width and height).
    std::ifstream png(folder / "a" / "0_0" / "0000.png", std::ios::binary);
    unsigned char header[24] = {0};
    png.read(reinterpret_cast<char*>(header), sizeof header);
    EXPECT_EQ((header[16] << 24) | (header[17] << 16) | (header[18] << 8) | header[19], 8);
    EXPECT_EQ((header[20] << 24) | (header[21] << 16) | (header[22] << 8) | header[23], 8);
  }
  ASSERT_EQ(run(common + (folder / "b").string()).status, 0);
  for (const char* file : {"0_0/0000.png", "0_0/0001.png", "3_3/0000.png", "3_3/0001.png"}) {
    std::ifstream a(folder / "a" / file, std::ios::binary),
        b(folder / "b" / file, std::ios::binary);
    const std::string da((std::istreambuf_iterator<char>(a)), {});
    const std::string db((std::istreambuf_iterator<char>(b)), {});
    EXPECT_EQ(da, db) << file;  // same seed: bit-identical images
  }
  r = run(common + (folder / "a").string());
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "exists; choose another folder or pass --force")) << r.output;
  EXPECT_EQ(run(common + (folder / "a").string() + " --force --sampler heun").status, 0);

  // Without a Python to draw the labelled grid, the images are still written, with a warning.
  r = run_shell("NOISESCHED_PYTHON=/nonexistent " + std::string(NOISESCHED_BINARY) + " " + common +
                (folder / "c").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "warning: labelled grid not drawn: cannot draw")) << r.output;
  EXPECT_TRUE(contains(r.output, "NOISESCHED_PYTHON=/nonexistent (not found)")) << r.output;
  EXPECT_TRUE(fs::exists(folder / "c" / "3_3" / "0000.png"));
  EXPECT_TRUE(fs::exists(folder / "c" / "samples.json"));
  EXPECT_FALSE(fs::exists(folder / "c" / "grid.png"));
}

TEST(CliSample, BadRequestsAreClearErrorsAndWriteNothing) {
  const auto folder = noisesched::testing::fresh_folder("cli-sample-errors");
  const std::string config = tiny_config(folder, 1);
  ASSERT_EQ(run("train --config " + config + " --progress lines").status, 0);
  const std::string run_dir = (folder / "run").string();
  const auto out = (folder / "out").string();
  const struct {
    std::string args, message;
  } cases[] = {
      {"--checkpoint " + (folder / "nope").string(), "no such file or folder"},
      {"--checkpoint " + (folder / "data").string(), "not a noisesched checkpoint"},
      {"--checkpoint " + run_dir + " --steps 0", "sampler steps must be in [1, 100000]"},
      {"--checkpoint " + run_dir + " --steps 2 --classes 10", "class 10 is outside [0, 10)"},
      {"--checkpoint " + run_dir + " --steps 2 --classes 1,x", "is not a whole number"},
      {"--checkpoint " + run_dir + " --steps 2 --sampler euler", "sampler 'euler' is not known"},
      {"--checkpoint " + run_dir + " --steps 2 --sampler ddpm --eta 1", "eta applies to ddim only"},
      {"--checkpoint " + run_dir + " --steps 2 --schedule cosine@2", "start must be in [0, 1]"},
  };
  for (const auto& c : cases) {
    const Result r = run("sample " + c.args + " --num 1 --out " + out);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_TRUE(contains(r.output, c.message)) << c.args << ": " << r.output;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
  // Guidance on an unconditional model.
  const auto uncond = noisesched::testing::fresh_folder("cli-sample-uncond");
  const std::string uncond_config = tiny_config(uncond, 1);
  ASSERT_EQ(run("train --config " + uncond_config + " --set model.class_conditional=false").status,
            0);
  const Result r = run("sample --checkpoint " + (uncond / "run").string() +
                       " --guidance 2 --num 1 --steps 2 --out " + out);
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "classifier-free guidance needs a class-conditional model"))
      << r.output;
  EXPECT_EQ(
      run("sample --checkpoint " + (uncond / "run").string() + " --num 2 --steps 2 --out " + out)
          .status,
      0);
  EXPECT_TRUE(fs::exists(fs::path(out) / "unconditional" / "0001.png"));
}

TEST(CliCheckSampler, TextAndJson) {
  Result r = run("check-sampler --sampler dpmpp_2m --steps 50 --samples 1000");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "sliced Wasserstein-2")) << r.output;
  EXPECT_TRUE(contains(r.output, "noise floor")) << r.output;
  r =
      run("check-sampler --sampler ddim --steps 10 --samples 500 --scale 0.5 --normalize analytic "
          "--target v --json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"normalization\": \"analytic\"")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"noise_floor\"")) << r.output;
  r = run("check-sampler --normalize batch");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "valid: empirical, analytic, none")) << r.output;
}

TEST(CliSchedule, SamplerTableCsvHeader) {
  const Result r = run("schedule cosine --sampler ddim --steps 4 --table --csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(
      r.output.substr(0, r.output.find('\n')),
      "step,t_eval,t_next,gamma_eval,gamma_next,c_z,c_x0,c_eps,c_x0_prev,noise_std,c_correct,order,"
      "rule");
  int lines = 0;
  for (char c : r.output) lines += c == '\n';
  EXPECT_EQ(lines, 5);
}

}  // namespace

// ---- featurizer and eval on the tiny data set ---------------------------------------------------

#include <nlohmann/json.hpp>

namespace {

TEST(CliEval, ScoresACheckpointImagesAndSplitsWithEverythingRecorded) {
  const auto folder = noisesched::testing::fresh_folder("cli-eval");
  const std::string config = tiny_config(folder, 2);
  ASSERT_EQ(run("train --config " + config + " --progress lines").status, 0);
  const std::string data = (folder / "data").string();
  const std::string extractor = (folder / "cnn.safetensors").string();
  Result r = run("featurizer train --dataset mnist --data-path " + data +
                 " --epochs 1 --batch-size 8 --out " + extractor);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "test accuracy ")) << r.output;
  r = run("featurizer train --dataset mnist --data-path " + data + " --out " + extractor);
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "exists; pass --force")) << r.output;
  {
    // A retrained classifier that misses --min-accuracy never replaces the good file.
    std::ifstream before_file(extractor, std::ios::binary);
    const std::string before((std::istreambuf_iterator<char>(before_file)), {});
    r = run("featurizer train --dataset mnist --data-path " + data +
            " --epochs 1 --seed 3 --min-accuracy 1.01 --force --out " + extractor);
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.output, "below --min-accuracy 1.01")) << r.output;
    EXPECT_TRUE(contains(r.output, "and kept '" + extractor + "'")) << r.output;
    std::ifstream after_file(extractor, std::ios::binary);
    const std::string after((std::istreambuf_iterator<char>(after_file)), {});
    EXPECT_EQ(before, after);
    EXPECT_TRUE(fs::exists(extractor + ".new"));
  }

  const std::string common = " --extractor " + extractor + " --cache " +
                             (folder / "cache").string() + " --is-splits 2 --kid-subset-size 5";
  // A checkpoint: samples, scores, and records how the samples were made.
  const std::string json = (folder / "eval.json").string();
  r = run("eval --checkpoint " + (folder / "run").string() +
          " --num 12 --sampler ddim --steps 3 --seed 4 --json " + json + common);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "FID ")) << r.output;
  std::ifstream in(json);
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["metrics"]["num_images"], 12);
  for (const char* key : {"fid", "is", "kid", "precision", "recall"}) {
    EXPECT_TRUE(doc["metrics"].contains(key)) << key;
  }
  EXPECT_EQ(doc["sampler"], "ddim");
  EXPECT_EQ(doc["steps"], 3);
  EXPECT_EQ(doc["seed"], 4);
  EXPECT_EQ(doc["guidance"], 0.0);
  EXPECT_EQ(doc["schedule"], "cosine:start=0,end=1,tau=1");
  EXPECT_EQ(doc["extractor_kind"], "fmnist_cnn");
  EXPECT_EQ(doc["reference"]["num_images"], 40);

  // Two processes share the sampling (DDPM, whole batches each) and score the same images (one
  // thread per process in both runs: another thread count sums in another order).
  const std::string ddpm = " --num 12 --sampler ddpm --steps 3 --batch-size 4 --seed 4";
  const std::string json1 = (folder / "eval1.json").string();
  const std::string json2 = (folder / "eval2.json").string();
  r = run("--threads 1 eval --checkpoint " + (folder / "run").string() + ddpm + " --json " + json1 +
          common);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("--threads 1 eval --checkpoint " + (folder / "run").string() + ddpm +
          " --nproc 2 --json " + json2 + common);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "shared among rank 0 of 2")) << r.output;
  std::ifstream in1(json1), in2(json2);
  const auto one = nlohmann::json::parse(in1), two = nlohmann::json::parse(in2);
  EXPECT_EQ(one["metrics"], two["metrics"]);
  r = run("eval --images train --dataset mnist --data-path " + (folder / "data").string() +
          " --nproc 2" + common);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--images is scored by one")) << r.output;

  // A `noisesched sample` folder: its per-class images are scored, its grid.png is not.
  ASSERT_EQ(run("sample --checkpoint " + (folder / "run").string() +
                " --steps 2 --num 2 --progress lines --out " + (folder / "samples").string())
                .status,
            0);
  r = run("eval --images " + (folder / "samples").string() + " --dataset mnist --data-path " +
          data + " --metrics fid,is" + common);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "images 20 vs mnist train split at 8x8")) << r.output;

  // The training split scored against itself: FID 0 (the reference came from the cache).
  r = run("eval --images train --dataset mnist --data-path " + data +
          " --resolution 8 --metrics fid" + common);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "(cached in")) << r.output;
  EXPECT_TRUE(contains(r.output, "FID        0\n")) << r.output;
  // Blurred, the same images are measurably worse.
  r = run("eval --images train --dataset mnist --data-path " + data +
          " --resolution 8 --metrics fid --corrupt blur:1" + common);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "FID        0\n")) << r.output;
}

TEST(CliEval, BadRequestsAreClearErrors) {
  Result r = run("eval --metrics fid");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "exactly one of --checkpoint")) << r.output;
  r = run("eval --images test --metrics fid,lpips");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "metric 'lpips' is not known; valid: fid, is, kid, pr"))
      << r.output;
  r = run("eval --images test --extractor /nonexistent/x.safetensors");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "/nonexistent/x.safetensors")) << r.output;
  EXPECT_TRUE(contains(r.output, "noisesched featurizer train")) << r.output;
  r = run("eval --checkpoint /nonexistent/run --extractor x");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "/nonexistent/run")) << r.output;
}

}  // namespace

namespace {

// ---- study on a tiny grid ---------------------------------------------------------------------

TEST(CliStudy, RunsAGridKeepsFinishedCellsAndWritesTheReport) {
  const auto folder = noisesched::testing::fresh_folder("cli-study");
  const std::string preset = tiny_config(folder, 3);
  const auto data = folder / "data";
  const std::string extractor = (folder / "cnn.safetensors").string();
  Result r = run("featurizer train --dataset mnist --data-path " + data.string() +
                 " --epochs 1 --batch-size 8 --out " + extractor);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto study = folder / "study.toml";
  std::ofstream(study)
      << "[study]\nout_dir = \"" << (folder / "cells").string() << "\"\nreport = \""
      << (folder / "report" / "study.md").string()
      << "\"\nseeds = [0, 1]\ninput_scales = [1, 0.5]\n"
         "schedules = [\"cosine@0.2,1,1\", \"simple_linear\"]\nsteps = 3\n"
         "set = [\"eval.extractor="
      << extractor << "\", \"eval.cache=" << (folder / "cache").string()
      << "\"]\n[eval]\nnum = 10\nrecipe = \"ddim steps=2\"\nmetrics = \"fid,cacc\"\n"
         "[[resolution]]\nsize = 8\nconfig = \"tiny.toml\"\n"
         "[[resolution]]\nsize = 16\nconfig = \"tiny.toml\"\nsteps = 2\n";

  // The grid: per size b = 1 and 0.5 and cosine@0.2,1,1 (simple_linear is the b = 1 cell), 2 seeds.
  r = run("study --config " + study.string() + " --dry-run");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "12 cells, 12 to run: about")) << r.output;
  for (const char* id : {"r8_b1_s0 ", "r8_b0.5_s1 ", "r8_cosine@0.2,1,1_s0 ", "r16_b1_s1 "}) {
    EXPECT_TRUE(contains(r.output, id)) << id << ": " << r.output;
  }
  EXPECT_FALSE(contains(r.output, "simple_linear_s")) << r.output;

  r = run("study --config " + study.string() + " --cells 'r8_*' --progress lines");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "cell 6/6 r8_cosine@0.2,1,1_s1: FID ")) << r.output;
  EXPECT_TRUE(contains(r.output, "wrote " + (folder / "report" / "study.md").string()));
  std::ifstream in(folder / "report" / "study.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string report = text.str();
  for (const char* part :
       {"## FID by input scale b (gamma = 1 - t) and resolution", "| b | 8 px | 16 px |",
        "## FID by schedule function (b = 1) and resolution", "| simple_linear (1 - t) |",
        "| cosine@0.2,1,1 |", "not run", "## Conclusion", "8 px: the best b is",
        "6 of 12 cells are finished", "| r8_b0.5_s1 | 8 | 3/3 | 1 | done |",
        "| r16_b1_s0 | 16 | 0/2 | 0 | not started |", "figures/study/fid_by_b.png",
        "figures/study/samples_r8.png", "figures/study/loss_bands_r8.png"}) {
    EXPECT_TRUE(contains(report, part)) << part << ":\n" << report;
  }
  EXPECT_GT(fs::file_size(folder / "report" / "figures" / "study" / "samples_r8.png"), 5000u);
  EXPECT_TRUE(
      fs::exists(folder / "cells" / "cells" / "r8_b0.5_s1" / "samples" / "step_00000003.png"));

  // A re-run keeps the finished cells and trains nothing.
  r = run("study --config " + study.string() + " --cells 'r8_b*' --progress lines");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "cell 4/4 r8_b0.5_s1: done, kept")) << r.output;
  EXPECT_FALSE(contains(r.output, "== cell")) << r.output;

  // With every selected cell done, --dry-run has nothing to estimate and measures nothing.
  r = run("study --config " + study.string() + " --cells 'r8_*' --dry-run");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "6 cells, 0 to run: about 0m00s on this machine\n")) << r.output;
  EXPECT_FALSE(contains(r.output, "measuring the step cost")) << r.output;

  r = run("study --config " + study.string() + " --cells 'r99_*'");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.output, "--cells: 'r99_*' matches no cell")) << r.output;
}

TEST(CliStudy, BadStudyFilesNameTheKey) {
  const auto folder = noisesched::testing::fresh_folder("cli-study-bad");
  tiny_config(folder, 3);
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"[study]\nseed = [0]\n", "unknown key 'study.seed'; keys in [study]: out_dir"},
      {"[study]\nsteps = 0\n", "study.steps: expected an integer >= 1, got 0"},
      {"[study]\ninput_scales = [0]\n", "study.input_scales: every b must be a finite number > 0"},
      {"[study]\nschedules = [\"cosin\"]\n", "study.schedules: "},
      {"[study]\nseeds = [0, 1, 0]\n", "study.seeds: seed 0 is listed twice"},
      {"[study]\ninput_scales = [1, 0.5, 0.50]\n", "study.input_scales: b = 0.5 is listed twice"},
      {"[study]\nschedules = [\"cosine\", \"cosine\"]\n",
       "study.schedules: 'cosine' is listed twice"},
      {"[study]\nsteps = 2\nschedules = [\"cosine\"]\n", "no [[resolution]] given"},
      {"[study]\nsteps = 2\nschedules = [\"cosine\"]\n[eval]\nrecipe = \"ddim steps=0\"\n"
       "[[resolution]]\nsize = 8\nconfig = \"tiny.toml\"\n",
       "eval: "},
      {"[study]\nsteps = 2\nschedules = [\"cosine\"]\nset = [\"rin.latent=3\"]\n"
       "[[resolution]]\nsize = 8\nconfig = \"tiny.toml\"\n",
       "unknown key 'rin.latent'"},
      {"[study]\nsteps = 2\nschedules = [\"cosine\"]\n[[resolution]]\nsize = 8\n"
       "config = \"missing.toml\"\n",
       "cannot read config file"},
      {"[stduy]\n", "unknown section [stduy]"},
      {"[study]\nsteps = 2\nschedules = [\"cosine\"]\n[[resolution]]\nsize = 8\n"
       "config = \"tiny.toml\"\n[[resolution]]\nsize = 8\nconfig = \"tiny.toml\"\n",
       "resolution 8 is given twice"},
      {"[study]\nsteps = 2\nschedules = [\"cosine\"]\n[eval]\nmetrics = \"cacc\"\n"
       "[[resolution]]\nsize = 8\nconfig = \"tiny.toml\"\n",
       "eval: metrics 'cacc' must include fid"},
  };
  for (const auto& c : cases) {
    std::ofstream(folder / "study.toml") << c.text;
    const Result r = run("study --config " + (folder / "study.toml").string() + " --dry-run");
    EXPECT_EQ(r.status, 1) << c.text << r.output;
    EXPECT_TRUE(contains(r.output, c.message)) << c.text << ": " << r.output;
  }
}

}  // namespace

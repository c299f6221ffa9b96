// The noisesched program as a user runs it: output formats, help text, exit codes, errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr together
};

Result run(const std::string& args) {
  const std::string command = std::string(NOISESCHED_BINARY) + " " + args + " 2>&1";
  Result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) result.output += buffer;
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
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
      {"schedule sigmoid@-3,3,0", "tau must be > 0"},
      {"schedule sigmoid@-3,3,-1", "tau must be > 0"},
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

TEST(Cli, CommandLineMistakesExitWithUsage) {
  const Result r = run("schedule cosine --no-such-option");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.output, "--no-such-option")) << r.output;
  EXPECT_NE(run("frobnicate").status, 0);
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

TEST(Cli, InfoReportsThreads) {
  const Result r = run("--threads 1 info");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "threads 1 of")) << r.output;
  EXPECT_TRUE(contains(r.output, "LibTorch ")) << r.output;
}

}  // namespace

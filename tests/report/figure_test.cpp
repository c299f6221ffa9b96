// Figures are really drawn: a PNG of the requested size appears, and failures name the problem
// and leave an earlier figure untouched. Needs matplotlib (label `plot`).
#include "noisesched/report/figure.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "noisesched/common/error.h"
#include "noisesched/report/schedule_report.h"

namespace noisesched {
namespace {

struct PngSize {
  unsigned width = 0, height = 0;
};

PngSize png_size(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[24] = {0};
  in.read(reinterpret_cast<char*>(header), sizeof(header));
  const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (!in || !std::equal(signature, signature + 8, header)) return {};
  auto be32 = [&](int at) {
    return (unsigned)header[at] << 24 | (unsigned)header[at + 1] << 16 |
           (unsigned)header[at + 2] << 8 | header[at + 3];
  };
  return {be32(16), be32(20)};
}

class FigureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("noisesched-figure-test-" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::filesystem::path folder_;
};

TEST_F(FigureTest, DrawsScheduleFigureToPng) {
  const auto path = folder_ / "sub" / "schedules.png";
  render_png(schedule_figure({{Schedule::parse("cosine"), 1.0, ""},
                              {Schedule::parse("sigmoid@-3,3,0.9"), 0.5, ""}},
                             "test"),
             path.string());
  const PngSize size = png_size(path);
  EXPECT_GT(size.width, 1000u);  // three panels side by side
  EXPECT_GT(size.height, 300u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(path.parent_path()), {}), 1)
      << "temporary files left behind";
}

TEST_F(FigureTest, JsonCarriesGapsAsNull) {
  Figure figure;
  Panel panel;
  panel.series.push_back({"a", {0, 1, 2}, {1, INFINITY, NAN}, "--"});
  figure.panels.push_back(panel);
  const auto doc = nlohmann::json::parse(figure_to_json(figure));
  const auto& y = doc["panels"][0]["series"][0]["y"];
  EXPECT_EQ(y[0], 1.0);
  EXPECT_TRUE(y[1].is_null());
  EXPECT_TRUE(y[2].is_null());
  EXPECT_EQ(doc["panels"][0]["series"][0]["style"], "--");
}

// x values shared by every series of a panel are written once, as the panel's; rounding to
// significant digits shortens numbers without changing exact ones.
TEST_F(FigureTest, JsonWritesSharedXOnceAndRoundsOnRequest) {
  Figure figure;
  Panel shared, apart;
  shared.series.push_back({"a", {1, 2}, {1.0 / 3, 2}, "-"});
  shared.series.push_back({"b", {1, 2}, {3, 4}, "-"});
  apart.series.push_back({"a", {1, 2}, {1, 2}, "-"});
  apart.series.push_back({"b", {1, 3}, {1, 2}, "-"});
  figure.panels = {shared, apart};
  const auto exact = nlohmann::json::parse(figure_to_json(figure));
  EXPECT_EQ(exact["panels"][0]["x"], nlohmann::json::parse("[1.0,2.0]"));
  EXPECT_FALSE(exact["panels"][0]["series"][0].contains("x"));
  EXPECT_EQ(exact["panels"][0]["series"][0]["y"][0].get<double>(), 1.0 / 3);
  EXPECT_FALSE(exact["panels"][1].contains("x"));
  EXPECT_EQ(exact["panels"][1]["series"][1]["x"], nlohmann::json::parse("[1.0,3.0]"));
  const auto short_form = nlohmann::json::parse(figure_to_json(figure, 4));
  EXPECT_EQ(short_form["panels"][0]["series"][0]["y"][0].get<double>(), 0.3333);
  EXPECT_EQ(short_form["panels"][0]["series"][1]["y"][1].get<double>(), 4.0);
  // Whole numbers (steps of a long run) are never rounded.
  Figure steps;
  Panel p;
  p.series.push_back({"s", {1234567, 1234568}, {2.5, 1e-7 / 3}, "-"});
  steps.panels = {p};
  const auto rounded = nlohmann::json::parse(figure_to_json(steps, 4));
  EXPECT_EQ(rounded["panels"][0]["series"][0]["x"], nlohmann::json::parse("[1234567.0,1234568.0]"));
  EXPECT_EQ(rounded["panels"][0]["series"][0]["y"][1].get<double>(), 3.333e-8);
}

TEST_F(FigureTest, RejectsMismatchedSeriesAndEmptyFigures) {
  Figure figure;
  EXPECT_THROW(render_png(figure, (folder_ / "x.png").string()), Error);
  Panel panel;
  panel.series.push_back({"bad", {0, 1}, {1}, "-"});
  figure.panels.push_back(panel);
  EXPECT_THROW(render_png(figure, (folder_ / "x.png").string()), Error);
}

TEST_F(FigureTest, MissingMatplotlibIsNamedAndKeepsTheOldFigure) {
  std::filesystem::create_directories(folder_);
  const auto path = folder_ / "keep.png";
  { std::ofstream(path) << "old figure"; }
  // A "python" that lacks matplotlib: exits 3 as the renderer does on ImportError.
  const auto fake = folder_ / "fake-python";
  { std::ofstream(fake) << "#!/bin/sh\nexit 3\n"; }
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  ::setenv("NOISESCHED_PYTHON", fake.c_str(), 1);
  try {
    render_png(schedule_figure({{Schedule(), 1.0, ""}}, "t"), path.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("python3-matplotlib"), std::string::npos) << e.what();
  }
  ::unsetenv("NOISESCHED_PYTHON");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "old figure");
}

// A program file that records each run in `log` and then does `then`.
std::filesystem::path fake_python(const std::filesystem::path& folder, const std::string& log,
                                  const std::string& then) {
  std::filesystem::create_directories(folder);
  const auto path = folder / "python3";
  std::ofstream(path) << "#!/bin/sh\necho \"$0\" >> " << log << "\n" << then << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

// Restores PATH and NOISESCHED_PYTHON when a test ends.
class Environment {
 public:
  Environment() : path_(std::getenv("PATH") ? std::getenv("PATH") : "") {}
  ~Environment() {
    ::setenv("PATH", path_.c_str(), 1);
    ::unsetenv("NOISESCHED_PYTHON");
  }

 private:
  std::string path_;
};

// NOISESCHED_PYTHON is that Python and no other: a missing one is an error naming it, though
// /usr/bin/python3 could draw.
TEST_F(FigureTest, ChosenPythonIsThatPythonAndNoOther) {
  Environment restore;
  const auto path = folder_ / "x.png";
  ::setenv("NOISESCHED_PYTHON", "/nonexistent/python3", 1);
  try {
    render_png(schedule_figure({{Schedule(), 1.0, ""}}, "t"), path.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NOISESCHED_PYTHON=/nonexistent/python3 (not found)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(plotting_pythons(), std::vector<std::string>{"/nonexistent/python3"});
}

// Without NOISESCHED_PYTHON: the python3s on PATH in order, the first with matplotlib drawing;
// one without it (exit 3, as the renderer without matplotlib) is passed over.
TEST_F(FigureTest, FirstPythonOnPathWithMatplotlibDraws) {
  Environment restore;
  ::unsetenv("NOISESCHED_PYTHON");
  const std::string log = (folder_ / "runs.log").string();
  const auto bare = fake_python(folder_ / "bare", log, "exit 3");
  const auto good = fake_python(folder_ / "good", log, "exec /usr/bin/python3 \"$@\"");
  ::setenv("PATH", ((folder_ / "bare").string() + ":" + (folder_ / "good").string()).c_str(), 1);
  EXPECT_EQ(plotting_pythons(),
            (std::vector<std::string>{bare.string(), good.string(), "/usr/bin/python3"}));
  const auto path = folder_ / "drawn.png";
  render_png(schedule_figure({{Schedule(), 1.0, ""}}, "t"), path.string());
  EXPECT_GT(png_size(path).width, 100u);
  std::ifstream in(log);
  std::string runs((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(runs, bare.string() + "\n" + good.string() + "\n");
}

// A side-effect figure: no Python with matplotlib is a reason, not an exception.
TEST_F(FigureTest, SideEffectFiguresReturnWhyTheyWereNotDrawn) {
  Environment restore;
  const std::string log = (folder_ / "runs.log").string();
  ::setenv("NOISESCHED_PYTHON", fake_python(folder_ / "bare", log, "exit 3").c_str(), 1);
  const std::string reason = render_png_or_reason(schedule_figure({{Schedule(), 1.0, ""}}, "t"),
                                                  (folder_ / "side.png").string());
  EXPECT_NE(reason.find("(no matplotlib)"), std::string::npos) << reason;
  EXPECT_FALSE(std::filesystem::exists(folder_ / "side.png"));
  Figure broken;  // a mistake in the figure itself still throws
  EXPECT_THROW(render_png_or_reason(broken, (folder_ / "b.png").string()), Error);
}

}  // namespace
}  // namespace noisesched

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

}  // namespace
}  // namespace noisesched

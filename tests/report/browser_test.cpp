// The run report in a real browser: headless Chromium (Debian's `chromium`, installed by
// scripts/install-deps.sh) loads the report of a short training run trained and reported with no
// Python on PATH, draws every chart without console errors, and its screenshot shows them (not
// a blank page). Label `browser`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data/data_test_util.h"
#include "noisesched/data/image_io.h"
#include "shell_util.h"

namespace {

namespace fs = std::filesystem;

using noisesched::testing::run_shell;
using Result = noisesched::testing::ShellResult;

TEST(Browser, ReportOfAShortRunLoadsWithoutErrorsAndShowsFigures) {
  ASSERT_EQ(run_shell("command -v chromium").status, 0)
      << "chromium is not installed (scripts/install-deps.sh installs it)";
  const auto folder = noisesched::testing::fresh_folder("browser-report");
  noisesched::testing::write_idx_dataset(folder / "data", "train", 40, 8, 10, true);
  std::ofstream(folder / "tiny.toml")
      << "[data]\ndataset = \"mnist\"\npath = \"" << (folder / "data").string()
      << "\"\nresolution = 8\n[rin]\npatch_size = 2\nlatents = 4\nlatent_dim = 16\n"
         "interface_dim = 8\nblocks = 1\nlayers_per_block = 1\nheads = 2\ncross_heads = 2\n"
         "[train]\nsteps = 12\nbatch_size = 4\nlog_every = 2\ncheckpoint_every = 6\n"
         "sample_every = 6\nsample_recipe = \"ddim steps=2\"\nout_dir = \""
      << (folder / "run").string() << "\"\n";
  // No Python anywhere: training and its report run no other program.
  const std::string no_python = "env -u NOISESCHED_PYTHON PATH=/nonexistent ";
  Result r = run_shell(no_python + NOISESCHED_BINARY + " train --config " +
                       (folder / "tiny.toml").string() + " --progress lines");
  ASSERT_EQ(r.status, 0) << r.output;
  const fs::path report = folder / "run" / "report.html";
  ASSERT_NE(r.output.find("report: " + report.string()), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  // The expected time, from the run's own steps 2-6, before the rest of the run.
  EXPECT_NE(r.output.find(" s per training step on this machine (median of steps 2-6; "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("): the remaining 6 steps take about "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" in training steps, plus 1 checkpoint, 1 sample grid\n"),
            std::string::npos)
      << r.output;
  EXPECT_LT(r.output.find("on this machine"), r.output.find("step 8/12")) << r.output;
  r = run_shell(no_python + NOISESCHED_BINARY + " report " + (folder / "run").string());
  ASSERT_EQ(r.status, 0) << r.output;

  // Every chart drawn: the schedule's 3 panels and training's 5 (figures.js counts them).
  r = run_shell("timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir=" +
                (folder / "profile").string() + " --dump-dom file://" + report.string() +
                " 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("data-ns-charts=\"8\""), std::string::npos) << r.output.substr(0, 400);
  std::size_t drawn_cells = 0;
  for (auto at = r.output.find("data-drawn=\"yes\""); at != std::string::npos;
       at = r.output.find("data-drawn=\"yes\"", at + 1)) {
    ++drawn_cells;
  }
  EXPECT_EQ(drawn_cells, 8u);
  EXPECT_EQ(r.output.find("nothing to draw</div>"), std::string::npos);

  const fs::path shot = folder / "shot.png";
  r = run_shell(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
      "--user-data-dir=" +
      (folder / "profile").string() +
      " --window-size=1200,1800 --enable-logging=stderr --v=0 --screenshot=" + shot.string() +
      " file://" + report.string());
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(fs::exists(shot)) << r.output;
  // Page errors reach the log as console messages ("...:CONSOLE(line)] ...").
  EXPECT_EQ(r.output.find(":CONSOLE("), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Uncaught"), std::string::npos) << r.output;

  // Not blank: a real share of the page is drawn (lines, text, sample grids), in many shades.
  const noisesched::ImageCHW image = noisesched::read_image(shot.string(), 1);
  ASSERT_EQ(image.width, 1200);
  std::size_t drawn = 0;
  std::set<int> shades;
  for (std::uint8_t v : image.pixels) {
    drawn += v < 200;
    shades.insert(v);
  }
  const double share = static_cast<double>(drawn) / static_cast<double>(image.pixels.size());
  EXPECT_GT(share, 0.02) << "the page looks blank";
  EXPECT_GT(shades.size(), 50u);
  fs::remove_all(folder);
}

}  // namespace

// The run report: a self-contained page with every section, built from a run folder's files.
#include "noisesched/report/run_report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/config/config.h"
#include "noisesched/data/image_io.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(RunReport, Base64MatchesTheRfcVectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

// A run folder as `train` leaves it: config, metrics with evaluations, two grids, checkpoints.
fs::path fake_run(const std::string& name) {
  const fs::path run = fs::temp_directory_path() / ("noisesched-report-test-" + name);
  fs::remove_all(run);
  fs::create_directories(run / "samples");
  fs::create_directories(run / "checkpoints" / "step_00000004");
  fs::create_directories(run / "checkpoints" / "step_00000008");
  std::ofstream(run / "checkpoints" / "step_00000008" / "ema.safetensors")
      << std::string(5000, 'x');
  std::ofstream(run / "checkpoints" / "latest") << "step_00000008\n";
  Config config;
  config.train.steps = 8;
  config.train.out_dir = "runs/<tiny> & \"quoted\"";
  std::ofstream(run / "config.toml") << config_to_toml(config);
  std::ofstream metrics(run / "metrics.jsonl");
  for (int step = 2; step <= 8; step += 2) {
    metrics << "{\"step\":" << step << ",\"epoch\":0.1,\"loss\":" << 1.0 / step
            << ",\"loss_by_logsnr\":{\"[-inf,-10)\":null,\"[-3,0)\":" << 0.5 / step
            << ",\"[0,3)\":" << 0.3 / step << "},\"lr\":0.001,\"grad_norm\":0.5,"
            << "\"images_per_s\":100,\"elapsed_s\":" << step << ",\"train_s\":" << 10 * step
            << "}\n";
    if (step % 4 == 0) {
      metrics << "{\"step\":" << step << ",\"train_s\":" << 10 * step
              << ",\"eval\":{\"num_images\":10,\"fid\":" << 300 - step
              << ",\"cacc\":{\"accuracy\":0.5},\"recipe\":\"ddim steps=2\"}}\n";
    }
  }
  ImageCHW grid;
  grid.channels = 1;
  grid.height = 16;
  grid.width = 16;
  grid.pixels.assign(256, 0);
  for (int i = 0; i < 256; ++i) grid.pixels[i] = static_cast<std::uint8_t>(i);
  write_png((run / "samples" / "step_00000004.png").string(), grid);
  write_png((run / "samples" / "step_00000008.png").string(), grid);
  return run;
}

TEST(RunReport, HoldsEverySectionSelfContained) {
  const fs::path run = fake_run("sections");
  const std::string path = write_run_report(run.string());
  EXPECT_EQ(path, (run / "report.html").string());
  const std::string html = read_text(path);
  const std::string body = html.substr(html.find("<body>"));  // after the inlined scripts
  for (const char* part :
       {"<!DOCTYPE html>", "<h2>Training schedule</h2>", "<h2>Training</h2>", "<h2>Evaluation</h2>",
        "<h2>Samples over training</h2>", "<h2>Checkpoints</h2>", "<h2>Configuration</h2>",
        "8 of 8", "FID 292", "class accuracy 50%", "step 4</figcaption>",
        "step_00000008</td><td>0.005 MB</td><td>latest",
        "&lt;tiny&gt; &amp; \\&quot;quoted\\&quot;"}) {
    EXPECT_NE(html.find(part), std::string::npos) << part;
  }
  // The two grids are embedded PNGs; the schedule, training, and evaluation by steps and by
  // minutes are charts: their numbers in the page, drawn by the inlined uPlot and renderer.
  EXPECT_EQ(count(html, "src=\"data:image/png;base64,iVBORw0KGgo"), 2u);
  EXPECT_EQ(count(body, "<script type=\"application/json\" class=\"ns-figure-data\">"), 4u);
  EXPECT_EQ(count(html, "/* uPlot 1.6.32, inlined by noisesched. Its licence:"), 1u);
  EXPECT_NE(html.find("Permission is hereby granted"), std::string::npos);
  EXPECT_NE(html.find("var uPlot=function()"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);  // nothing loaded from elsewhere
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("src=\"file"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(run), {}), 5)  // no temporaries left
      << "config.toml, metrics.jsonl, samples, checkpoints, report.html";
  fs::remove_all(run);
}

// The charts carry the run's numbers: the loss panel's values are the logged ones, the
// evaluation by minutes uses train_s, and a band never trained on (all null) is left out.
TEST(RunReport, ChartsCarryTheLoggedNumbers) {
  const fs::path run = fake_run("numbers");
  const std::string page = read_text(write_run_report(run.string()));
  const std::string html = page.substr(page.find("<body>"));
  std::vector<nlohmann::json> figures;
  const std::string open = "class=\"ns-figure-data\">";
  for (auto at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
    const auto begin = at + open.size();
    figures.push_back(
        nlohmann::json::parse(html.substr(begin, html.find("</script>", begin) - begin)));
  }
  ASSERT_EQ(figures.size(), 4u);
  const nlohmann::json& training = figures[1];
  ASSERT_EQ(training["panels"].size(), 5u);
  const nlohmann::json& loss = training["panels"][0]["series"][0];
  EXPECT_EQ(loss["x"], nlohmann::json::parse("[2,4,6,8]"));
  EXPECT_EQ(loss["y"], nlohmann::json::parse("[0.5,0.25,0.166667,0.125]"));  // 6 digits
  EXPECT_TRUE(training["panels"][0]["log_y"].get<bool>());
  const nlohmann::json& bands = training["panels"][1];
  ASSERT_EQ(bands["series"].size(), 2u);  // [-inf,-10) was never trained on
  EXPECT_EQ(bands["series"][0]["label"], "logSNR [-3,0)");
  EXPECT_EQ(bands["x"], nlohmann::json::parse("[2,4,6,8]"));  // shared by the bands
  const nlohmann::json& by_minutes = figures[3]["panels"][0]["series"][0];
  EXPECT_EQ(by_minutes["x"], nlohmann::json::parse("[0.666667,1.33333]"));  // 40 s, 80 s
  EXPECT_EQ(by_minutes["y"], nlohmann::json::parse("[296,292]"));
  fs::remove_all(run);
}

// Writing the report runs no other program: it is complete with no Python to be found.
TEST(RunReport, NeedsNoPython) {
  const fs::path run = fake_run("no-python");
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path ? old_path : "";
  ::setenv("PATH", "/nonexistent", 1);
  ::setenv("NOISESCHED_PYTHON", "/nonexistent/python3", 1);
  std::string path;
  EXPECT_NO_THROW(path = write_run_report(run.string()));
  ::setenv("PATH", saved.c_str(), 1);
  ::unsetenv("NOISESCHED_PYTHON");
  const std::string html = read_text(path);
  EXPECT_EQ(count(html.substr(html.find("<body>")), "class=\"ns-figure-data\""), 4u);
  fs::remove_all(run);
}

TEST(RunReport, AFolderThatIsNotARunIsNamed) {
  const fs::path empty = fs::temp_directory_path() / "noisesched-report-test-empty";
  fs::create_directories(empty);
  try {
    write_run_report(empty.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a run folder (no config.toml)"), std::string::npos)
        << e.what();
  }
  fs::remove_all(empty);
}

}  // namespace
}  // namespace noisesched

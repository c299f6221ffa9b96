// metrics.jsonl: typed lines written and read back, NaN as null, reading only evaluations,
// errors naming the file and line, and a resumed run's file cut at its checkpoint.
#include "noisesched/io/metrics_lines.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "test_util.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

fs::path fresh_file(const std::string& name) {
  const fs::path folder =
      fs::temp_directory_path() / ("noisesched-metrics-test-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const fs::path path = folder / name;
  fs::remove(path);
  return path;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TrainingLine training(std::int64_t step, double loss) {
  TrainingLine line;
  line.step = step;
  line.epoch = 0.5 * static_cast<double>(step);
  line.loss = loss;
  line.loss_by_logsnr = {{"[-inf,-6)", kNaN}, {"[-6,-3)", 0.25}, {"[-3,0)", 0.125}};
  line.lr = 1e-3;
  line.grad_norm = 0.75;
  line.images_per_s = 96;
  line.elapsed_s = 10;
  line.train_s = 8.5 * static_cast<double>(step);
  return line;
}

EvaluationLine evaluation(std::int64_t step, double fid) {
  EvaluationLine line;
  line.step = step;
  line.train_s = 100;
  line.eval["fid"] = fid;  // NaN is dumped as null
  line.eval["cacc"] = {{"accuracy", 0.75}, {"ceiling", 0.9}};
  line.eval["extractor"] = "fmnist_cnn:abc";
  line.eval["recipe"] = "ddim steps=2";
  return line;
}

TEST(MetricsLines, WrittenLinesReadBackWithNanAsNull) {
  const fs::path path = fresh_file("roundtrip.jsonl");
  {
    MetricsFile file(path.string(), 0);
    file.write(training(10, 0.5));
    file.write(training(20, kNaN));
    file.write(evaluation(20, 41.5));
    file.write(evaluation(30, kNaN));
  }
  const std::string text = read_all(path);
  EXPECT_NE(text.find("\"loss\":null"), std::string::npos) << text;
  EXPECT_NE(text.find("\"[-inf,-6)\":null"), std::string::npos) << text;
  EXPECT_NE(text.find("\"fid\":null"), std::string::npos) << text;

  const MetricsLines lines = read_metrics(path.string(), "test");
  ASSERT_EQ(lines.training.size(), 2u);
  ASSERT_EQ(lines.evaluations.size(), 2u);
  const TrainingLine& first = lines.training[0];
  EXPECT_EQ(first.step, 10);
  EXPECT_DOUBLE_EQ(first.epoch, 5);
  EXPECT_DOUBLE_EQ(first.loss, 0.5);
  EXPECT_DOUBLE_EQ(first.lr, 1e-3);
  EXPECT_DOUBLE_EQ(first.grad_norm, 0.75);
  EXPECT_DOUBLE_EQ(first.images_per_s, 96);
  EXPECT_DOUBLE_EQ(first.elapsed_s, 10);
  EXPECT_DOUBLE_EQ(first.train_s, 85);
  // The bands keep the file's (logSNR) order, an empty band as NaN.
  ASSERT_EQ(first.loss_by_logsnr.size(), 3u);
  EXPECT_EQ(first.loss_by_logsnr[0].first, "[-inf,-6)");
  EXPECT_TRUE(std::isnan(first.loss_by_logsnr[0].second));
  EXPECT_EQ(first.loss_by_logsnr[1].first, "[-6,-3)");
  EXPECT_DOUBLE_EQ(first.loss_by_logsnr[2].second, 0.125);
  EXPECT_TRUE(std::isnan(lines.training[1].loss));

  const EvaluationLine& e = lines.evaluations[0];
  EXPECT_EQ(e.step, 20);
  EXPECT_DOUBLE_EQ(e.train_s, 100);
  EXPECT_TRUE(e.has("fid"));
  EXPECT_DOUBLE_EQ(e.number("fid"), 41.5);
  EXPECT_DOUBLE_EQ(e.number("cacc", "accuracy"), 0.75);
  EXPECT_DOUBLE_EQ(e.number("cacc", "ceiling"), 0.9);
  EXPECT_TRUE(std::isnan(e.number("cacc", "missing")));
  EXPECT_TRUE(std::isnan(e.number("is", "mean")));  // not computed
  EXPECT_FALSE(e.has("is"));
  EXPECT_TRUE(std::isnan(e.number("cacc")));  // an object, not a number
  EXPECT_EQ(e.text("extractor"), "fmnist_cnn:abc");
  EXPECT_EQ(e.text("fid"), "");
  EXPECT_TRUE(lines.evaluations[1].has("fid"));
  EXPECT_TRUE(std::isnan(lines.evaluations[1].number("fid")));  // null: NaN
}

TEST(MetricsLines, ReadingEvaluationsSkipsTrainingLinesUnparsed) {
  const fs::path path = fresh_file("evaluations.jsonl");
  {
    std::ofstream out(path);
    out << "{\"step\": 1, \"loss\": 0.5}\n"
        << "{\"step\": 2, \"loss\": 0.4, broken\n"  // a training line cut short
        << "\n"
        << "{\"step\": 3, \"train_s\": 12, \"eval\": {\"fid\": 50}}\n";
  }
  const MetricsLines evaluations = read_metrics(path.string(), "plot", MetricsToRead::kEvaluations);
  EXPECT_TRUE(evaluations.training.empty());
  ASSERT_EQ(evaluations.evaluations.size(), 1u);
  EXPECT_DOUBLE_EQ(evaluations.evaluations[0].number("fid"), 50);
  // Reading everything parses the broken line and names it.
  const std::string message =
      testing::error_message([&] { read_metrics(path.string(), "report"); });
  EXPECT_NE(message.find("report: " + path.string() + ":2: not JSON"), std::string::npos)
      << message;
}

TEST(MetricsLines, ALineThatIsNotAMetricsLineIsNamed) {
  const fs::path path = fresh_file("wrong.jsonl");
  std::ofstream(path) << "{\"step\": 1}\n[1, 2]\n";
  std::string message = testing::error_message([&] { read_metrics(path.string(), "study"); });
  EXPECT_NE(message.find(path.string() + ":2: not a metrics line"), std::string::npos) << message;
  std::ofstream(path) << "{\"loss\": 1}\n";
  message = testing::error_message([&] { read_metrics(path.string(), "study"); });
  EXPECT_NE(message.find(":1: not a metrics line"), std::string::npos) << message;
  message = testing::error_message([&] { read_metrics((path.string() + ".none"), "plot"); });
  EXPECT_NE(message.find("plot: cannot read"), std::string::npos) << message;
}

TEST(MetricsLines, AResumedRunDropsTheLinesAfterItsCheckpoint) {
  const fs::path path = fresh_file("resumed.jsonl");
  {
    MetricsFile file(path.string(), 0);
    for (int step = 10; step <= 40; step += 10) file.write(training(step, 0.5));
    file.write(evaluation(30, 40));
  }
  std::ofstream(path, std::ios::app) << "{\"step\": 50, \"loss\"";  // cut by a crash
  {
    MetricsFile file(path.string(), 30);  // resumed from the checkpoint of step 30
    file.write(training(40, 0.25));
  }
  const MetricsLines lines = read_metrics(path.string(), "test");
  ASSERT_EQ(lines.training.size(), 4u);
  EXPECT_EQ(lines.training[2].step, 30);
  EXPECT_EQ(lines.training[3].step, 40);
  EXPECT_DOUBLE_EQ(lines.training[3].loss, 0.25);  // the new sitting's line
  ASSERT_EQ(lines.evaluations.size(), 1u);
  MetricsFile fresh(path.string(), 0);  // a fresh run starts an empty file
  EXPECT_EQ(read_all(path), "");
}

}  // namespace
}  // namespace noisesched

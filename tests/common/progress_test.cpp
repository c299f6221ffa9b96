// The progress display: the redrawn line fits the width it is given and keeps what matters first.
#include "noisesched/common/progress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

const std::vector<ProgressField> kTrainingFields = {
    {"loss 0.0812", 1},  {"lr 9.30e-04", 5},   {"grad 0.118", 6}, {"162 img/s", 3},
    {"0.395 s/step", 7}, {"elapsed 3m50s", 4}, {"left 9m32s", 2}};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Progress, LineFitsEveryWidthAndKeepsTheMostImportantFields) {
  for (int width = 1; width <= 240; ++width) {
    const std::string line = progress_line("step", 500, 1950, kTrainingFields, width);
    EXPECT_LE(static_cast<int>(line.size()), std::max(width - 1, 1)) << width << ": " << line;
    if (width >= 20) {
      EXPECT_TRUE(has(line, "step ")) << width;
    }
    if (width >= 40) {
      EXPECT_TRUE(has(line, "500/1950")) << width;
    }
    // A field is shown only if every more important one is.
    if (has(line, "left ")) {
      EXPECT_TRUE(has(line, "loss ")) << width;
    }
    if (has(line, "img/s")) {
      EXPECT_TRUE(has(line, "left ")) << width;
    }
    if (has(line, "s/step")) {
      EXPECT_TRUE(has(line, "grad ")) << width;
    }
  }
  // At 80 columns: step, loss, time left and throughput; at 200: everything, with a bar.
  const std::string narrow = progress_line("step", 500, 1950, kTrainingFields, 80);
  for (const char* part : {"step", "500/1950", "loss 0.0812", "left 9m32s", "162 img/s"}) {
    EXPECT_TRUE(has(narrow, part)) << part << ": " << narrow;
  }
  const std::string wide = progress_line("step", 500, 1950, kTrainingFields, 200);
  for (const auto& f : kTrainingFields) EXPECT_TRUE(has(wide, f.text)) << f.text << ": " << wide;
  EXPECT_TRUE(has(wide, "[#####...............] 500/1950")) << wide;
  // The fields keep their given order, whatever their priority.
  EXPECT_LT(wide.find("loss"), wide.find("lr "));
  EXPECT_LT(wide.find("elapsed"), wide.find("left"));
  // The head is cut, never wrapped, when even it does not fit.
  EXPECT_EQ(progress_line("sampling", 1, 2, {}, 5), "samp");
}

TEST(Progress, RedrawsOneLineAtTheWidthOfTheMoment) {
  std::ostringstream out;
  int width = 120;
  Progress p("step", 10, Progress::Mode::kRedraw, out, [&] { return width; });
  p.update(1, kTrainingFields, false);
  width = 40;  // the window was resized
  p.update(2, kTrainingFields, false);
  p.interrupt() << "wrote grid.png\n";
  p.update(10, kTrainingFields, true);
  const std::string text = out.str();
  // Each redraw starts with carriage return + clear; the only newlines end the interruption and
  // the finished line.
  std::size_t newlines = 0;
  for (char c : text) newlines += c == '\n';
  EXPECT_EQ(newlines, 2u) << text;
  std::size_t start = 0;
  while ((start = text.find("\r\033[K", start)) != std::string::npos) {
    start += 4;
    const std::size_t end = text.find_first_of("\r\n", start);
    const std::string line = text.substr(start, end - start);
    EXPECT_LE(line.size(), 119u) << line;
  }
  EXPECT_TRUE(has(text, "\r\033[Kwrote grid.png\n")) << text;
  EXPECT_TRUE(has(text, "10/10")) << text;
  const std::size_t second = text.find("2/10");
  ASSERT_NE(second, std::string::npos);
  const std::size_t line_start = text.rfind("\r\033[K", second) + 4;
  EXPECT_LE(text.find_first_of("\r\n", second) - line_start, 39u);
}

TEST(Progress, LinesModePrintsEveryFieldOnlyWhenAsked) {
  std::ostringstream out;
  Progress p("step", 1950, Progress::Mode::kLines, out, [] { return 20; });
  p.update(499, kTrainingFields, false);
  EXPECT_EQ(out.str(), "");
  p.update(500, kTrainingFields, true);
  EXPECT_EQ(out.str(),
            "step 500/1950  loss 0.0812  lr 9.30e-04  grad 0.118  162 img/s  0.395 s/step  "
            "elapsed 3m50s  left 9m32s\n");
  p.end_line();  // nothing drawn: nothing to end
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
}

TEST(Progress, DurationsAndModes) {
  EXPECT_EQ(duration_text(0), "0m00s");
  EXPECT_EQ(duration_text(65.4), "1m05s");
  EXPECT_EQ(duration_text(3725), "1h02m");
  EXPECT_EQ(duration_text(-1), "?");
  EXPECT_EQ(duration_text(std::nan("")), "?");
  EXPECT_EQ(progress_mode("bar"), Progress::Mode::kRedraw);
  EXPECT_EQ(progress_mode("lines"), Progress::Mode::kLines);
  EXPECT_THROW(progress_mode("fancy"), Error);
}

}  // namespace
}  // namespace noisesched

// The progress display of image generation, shared by `sample` and `eval`.
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "commands.h"
#include "noisesched/common/progress.h"

namespace noisesched::cli {

namespace {

// A progress callback for `label`, created at its first call (when the total is known). `extra`
// adds fields from (progress, done, total); a log line at every tenth when not redrawing.
std::function<void(std::int64_t, std::int64_t)> progress_callback(
    const std::string& label, const std::string& option,
    std::function<std::vector<ProgressField>(const Progress&, std::int64_t, std::int64_t)> extra) {
  const Progress::Mode mode = progress_mode(option);
  auto progress = std::make_shared<std::optional<Progress>>();
  auto last_tenth = std::make_shared<std::int64_t>(-1);
  return [=](std::int64_t done, std::int64_t total) {
    if (!*progress) progress->emplace(label, total, mode, std::cerr);
    Progress& p = **progress;
    const std::int64_t tenth = total > 0 ? done * 10 / total : 10;
    const bool log_line = tenth != *last_tenth;
    *last_tenth = tenth;
    std::vector<ProgressField> fields =
        extra ? extra(p, done, total) : std::vector<ProgressField>{};
    fields.push_back({"left " + duration_text(p.seconds_left(done)), 1});
    p.update(done, fields, log_line);
  };
}

}  // namespace

std::function<void(std::int64_t, std::int64_t)> sampling_progress(const std::string& option,
                                                                  std::int64_t images) {
  return progress_callback(
      "sampling", option, [images](const Progress& p, std::int64_t done, std::int64_t total) {
        char rate[64];
        const double seconds = p.elapsed();
        std::snprintf(rate, sizeof(rate), "%.1f img/s",
                      seconds > 0
                          ? static_cast<double>(images) * static_cast<double>(done) /
                                static_cast<double>(std::max<std::int64_t>(total, 1)) / seconds
                          : 0.0);
        return std::vector<ProgressField>{{"network evaluations", 3}, {rate, 2}};
      });
}

std::function<void(std::int64_t, std::int64_t)> counting_progress(const std::string& label,
                                                                  const std::string& option) {
  return progress_callback(label, option, nullptr);
}

}  // namespace noisesched::cli

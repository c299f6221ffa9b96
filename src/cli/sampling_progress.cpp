// The progress display of image generation, shared by `sample` and `eval`.
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "noisesched/common/progress.h"

namespace noisesched::cli {

std::function<void(std::int64_t, std::int64_t)> sampling_progress(const std::string& option,
                                                                  std::int64_t images) {
  const Progress::Mode mode = progress_mode(option);
  // The total of network evaluations is known at the first call.
  auto progress = std::make_shared<std::optional<Progress>>();
  auto last_tenth = std::make_shared<std::int64_t>(-1);
  return [=](std::int64_t done, std::int64_t total) {
    if (!*progress) progress->emplace("sampling", total, mode, std::cerr);
    Progress& p = **progress;
    const std::int64_t tenth = total > 0 ? done * 10 / total : 10;
    const bool log_line = tenth != *last_tenth;
    *last_tenth = tenth;
    char rate[64];
    const double seconds = p.elapsed();
    std::snprintf(rate, sizeof(rate), "%.1f img/s",
                  seconds > 0 ? static_cast<double>(images) * static_cast<double>(done) /
                                    static_cast<double>(std::max<std::int64_t>(total, 1)) / seconds
                              : 0.0);
    p.update(
        done,
        {{"network evaluations", 3}, {rate, 2}, {"left " + duration_text(p.seconds_left(done)), 1}},
        log_line);
  };
}

}  // namespace noisesched::cli

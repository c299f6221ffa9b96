// noisesched/report/json_lines.h: reading metrics.jsonl-style files (torch-free).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace noisesched {

// Every non-blank line of `path` parsed as JSON, in file order; with `keep`, only the lines whose
// text it accepts (a cheap test before parsing: a long run's metrics.jsonl has 100 000 training
// lines around a few hundred evaluations). Throws naming `what` (e.g. "plot"), the file and the
// line when the file cannot be read or a line that is parsed is not JSON.
std::vector<nlohmann::json> read_json_lines(
    const std::string& path, const std::string& what,
    const std::function<bool(std::string_view line)>& keep = {});

// The same, one line at a time, without holding the file's lines: `visit` gets each parsed line.
void for_each_json_line(const std::string& path, const std::string& what,
                        const std::function<void(const nlohmann::json&)>& visit,
                        const std::function<bool(std::string_view line)>& keep = {});

}  // namespace noisesched

// noisesched/report/json_lines.h: reading metrics.jsonl-style files (torch-free).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace noisesched {

// Every non-blank line of `path` parsed as JSON, in file order. Throws naming `what` (e.g.
// "plot"), the file and the line when the file cannot be read or a line is not JSON.
std::vector<nlohmann::json> read_json_lines(const std::string& path, const std::string& what);

}  // namespace noisesched

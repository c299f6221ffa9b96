// Reading JSON-lines files (see json_lines.h).
#include "noisesched/report/json_lines.h"

#include <fstream>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {

std::vector<nlohmann::json> read_json_lines(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw Error(what + ": cannot read '" + path + "'");
  std::vector<nlohmann::json> lines;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (trim(line).empty()) continue;
    try {
      lines.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      throw Error(what + ": " + path + ":" + std::to_string(number) + ": not JSON (" + e.what() +
                  ")");
    }
  }
  return lines;
}

}  // namespace noisesched

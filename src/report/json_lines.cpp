// Reading JSON-lines files (see json_lines.h).
#include "noisesched/report/json_lines.h"

#include <fstream>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {

void for_each_json_line(const std::string& path, const std::string& what,
                        const std::function<void(const nlohmann::json&)>& visit,
                        const std::function<bool(std::string_view)>& keep) {
  std::ifstream in(path);
  if (!in) throw Error(what + ": cannot read '" + path + "'");
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (trim(line).empty() || (keep && !keep(line))) continue;
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(what + ": " + path + ":" + std::to_string(number) + ": not JSON (" + e.what() +
                  ")");
    }
    visit(doc);
  }
}

std::vector<nlohmann::json> read_json_lines(const std::string& path, const std::string& what,
                                            const std::function<bool(std::string_view)>& keep) {
  std::vector<nlohmann::json> lines;
  for_each_json_line(
      path, what, [&](const nlohmann::json& doc) { lines.push_back(doc); }, keep);
  return lines;
}

}  // namespace noisesched

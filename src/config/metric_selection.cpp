// Metric lists; see noisesched/config/metric_selection.h.
#include "noisesched/config/metric_selection.h"

#include <sstream>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

struct MetricName {
  const char* name;
  bool MetricSelection::*flag;
};

constexpr MetricName kMetrics[] = {{"fid", &MetricSelection::fid},   {"is", &MetricSelection::is},
                                   {"kid", &MetricSelection::kid},   {"pr", &MetricSelection::pr},
                                   {"cacc", &MetricSelection::cacc}, {"bg", &MetricSelection::bg}};

}  // namespace

std::string MetricSelection::names() {
  std::string out;
  for (const auto& m : kMetrics) out += (out.empty() ? "" : ", ") + std::string(m.name);
  return out;
}

MetricSelection MetricSelection::parse(const std::string& list) {
  MetricSelection selection;
  std::stringstream in(list);
  std::string name;
  bool any = false;
  while (std::getline(in, name, ',')) {
    bool known = false;
    for (const auto& m : kMetrics) {
      if (name == m.name) {
        selection.*m.flag = true;
        known = true;
      }
    }
    if (!known) throw Error("metric '" + name + "' is not known; valid: " + names());
    any = true;
  }
  if (!any) throw Error("no metric selected; valid: " + names());
  return selection;
}

std::string MetricSelection::to_string() const {
  std::string out;
  for (const auto& m : kMetrics) {
    if (this->*m.flag) out += (out.empty() ? "" : ",") + std::string(m.name);
  }
  return out;
}

}  // namespace noisesched

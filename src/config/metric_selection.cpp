// Metric lists; see noisesched/config/metric_selection.h.
#include "noisesched/config/metric_selection.h"

#include <sstream>

#include "noisesched/common/error.h"

namespace noisesched {

MetricSelection MetricSelection::parse(const std::string& list) {
  MetricSelection selection;
  std::stringstream in(list);
  std::string name;
  bool any = false;
  while (std::getline(in, name, ',')) {
    if (name == "fid") {
      selection.fid = true;
    } else if (name == "is") {
      selection.is = true;
    } else if (name == "kid") {
      selection.kid = true;
    } else if (name == "pr") {
      selection.pr = true;
    } else {
      throw Error("metric '" + name + "' is not known; valid: fid, is, kid, pr");
    }
    any = true;
  }
  if (!any) throw Error("no metric selected; valid: fid, is, kid, pr");
  return selection;
}

std::string MetricSelection::to_string() const {
  std::string out;
  const auto add = [&out](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(fid, "fid");
  add(is, "is");
  add(kid, "kid");
  add(pr, "pr");
  return out;
}

}  // namespace noisesched

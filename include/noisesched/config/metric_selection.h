// noisesched/config/metric_selection.h: which evaluation metrics to compute, from a list like
// "fid,is,kid,pr" (torch-free, so configurations can be validated without LibTorch).
#pragma once

#include <string>

namespace noisesched {

struct MetricSelection {
  bool fid = false, is = false, kid = false, pr = false;
  // Throws naming an unknown metric and the valid ones; an empty list is an error too.
  static MetricSelection parse(const std::string& list);
  std::string to_string() const;  // parses back to the same selection
};

}  // namespace noisesched

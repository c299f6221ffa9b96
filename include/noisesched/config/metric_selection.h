// noisesched/config/metric_selection.h: which evaluation metrics to compute, from a list like
// "fid,is,kid,pr,cacc,bg" (torch-free, so configurations can be validated without LibTorch).
//   fid, is, kid, pr  SPEC section 8
//   cacc              class accuracy of class-conditional samples by the extractor's classifier
//                     (with the classifier's own test accuracy beside it as the ceiling)
//   bg                share of images whose four 3x3 corners average brighter than 40/255:
//                     a grey background where real Fashion-MNIST/MNIST images are black
#pragma once

#include <string>

namespace noisesched {

struct MetricSelection {
  bool fid = false, is = false, kid = false, pr = false, cacc = false, bg = false;
  // Throws naming an unknown metric and the valid ones; an empty list is an error too.
  static MetricSelection parse(const std::string& list);
  std::string to_string() const;  // parses back to the same selection
  static std::string names();     // "fid, is, kid, pr, cacc, bg"
};

}  // namespace noisesched

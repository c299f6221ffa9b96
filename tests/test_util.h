// Helpers shared by the test suites.
#pragma once

#include <functional>
#include <string>

#include "noisesched/common/error.h"

namespace noisesched::testing {

// The message of the noisesched::Error that `action` throws, or "(no error)".
inline std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace noisesched::testing

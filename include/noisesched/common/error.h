// noisesched/common/error.h: the one exception type the library throws.
//
// The library never prints or exits on bad input: it throws noisesched::Error with a message that
// names what was wrong (file, key, value) and what is allowed. Only `main` catches, prints
// "error: <message>" and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace noisesched {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace noisesched

// Strict number parsing and exact printing (see numbers.h).
#include "noisesched/common/numbers.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "noisesched/common/error.h"

namespace noisesched {

std::string_view trim(std::string_view text) {
  const char* kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

double parse_double(std::string_view text, std::string_view what) {
  const std::string token(trim(text));
  if (token.empty()) {
    throw Error(std::string(what) + ": expected a number, got an empty value");
  }
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(token.c_str(), &end);
  if (end != token.c_str() + token.size()) {
    throw Error(std::string(what) + ": '" + token + "' is not a number");
  }
  // Overflow comes back as infinity and is rejected here; underflow to a tiny value is harmless.
  if (!std::isfinite(value)) {
    throw Error(std::string(what) + ": '" + token + "' is not a finite number");
  }
  return value;
}

long long parse_integer(std::string_view text, std::string_view what, long long min_value,
                        long long max_value) {
  const std::string token(trim(text));
  errno = 0;
  char* end = nullptr;
  const long long value = token.empty() ? 0 : std::strtoll(token.c_str(), &end, 10);
  if (token.empty() || end != token.c_str() + token.size() || errno == ERANGE) {
    throw Error(std::string(what) + ": '" + token + "' is not a whole number");
  }
  if (value < min_value || value > max_value) {
    throw Error(std::string(what) + ": " + token + " is out of range; expected " +
                std::to_string(min_value) + " to " + std::to_string(max_value));
  }
  return value;
}

std::string format_exact(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  // Fewest significant digits that read back exactly, found in scientific notation.
  char buffer[64];
  int digits = 1;
  for (; digits < 17; ++digits) {
    std::snprintf(buffer, sizeof(buffer), "%.*e", digits - 1, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::snprintf(buffer, sizeof(buffer), "%.*e", digits - 1, value);
  const char* e = std::strchr(buffer, 'e');
  const int exponent = std::atoi(e + 1);
  // Plain notation for everyday magnitudes (1000, 0.0001), like Python's repr.
  if (exponent >= -4 && exponent < 17) {
    std::snprintf(buffer, sizeof(buffer), "%.*f", std::max(0, digits - 1 - exponent), value);
    return buffer;
  }
  // Scientific notation without "+" or leading exponent zeros: 1e-09 -> 1e-9, 1e+20 -> 1e20.
  const std::string mantissa(static_cast<const char*>(buffer), e);
  return mantissa + "e" + std::to_string(exponent);
}

std::string format_fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string format_integer_list(const std::vector<int>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(values[i]);
  }
  return out + "]";
}

std::string format_significant(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
  return buffer;
}

}  // namespace noisesched

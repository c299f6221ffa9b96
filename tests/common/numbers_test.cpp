// Strict parsing and exact printing of numbers.
#include "noisesched/common/numbers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

TEST(ParseDouble, AcceptsWholeNumbersWithSurroundingSpace) {
  EXPECT_EQ(parse_double("0.9", "tau"), 0.9);
  EXPECT_EQ(parse_double(" -3 ", "start"), -3.0);
  EXPECT_EQ(parse_double("1e-9", "clip_min"), 1e-9);
}

TEST(ParseDouble, RejectsPartialNumbersEmptyAndNonFinite) {
  for (const char* bad : {"", "  ", "3abc", "abc", "1,5", "nan", "inf", "-inf", "1e999", "0x"}) {
    EXPECT_THROW(parse_double(bad, "tau"), Error) << "'" << bad << "'";
  }
}

TEST(ParseDouble, ErrorNamesTheValueAndTheText) {
  try {
    parse_double("3abc", "sigmoid: tau");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "sigmoid: tau: '3abc' is not a number");
  }
}

TEST(ParseInteger, ChecksRangeAndWholeness) {
  EXPECT_EQ(parse_integer("12", "points", 2, 100), 12);
  EXPECT_THROW(parse_integer("1", "points", 2, 100), Error);
  EXPECT_THROW(parse_integer("2.5", "points", 2, 100), Error);
  EXPECT_THROW(parse_integer("", "points", 2, 100), Error);
  EXPECT_THROW(parse_integer("99999999999999999999999", "points", 2, 100), Error);
}

TEST(FormatExact, PrintsShortForms) {
  EXPECT_EQ(format_exact(0.0), "0");
  EXPECT_EQ(format_exact(1000.0), "1000");
  EXPECT_EQ(format_exact(0.9), "0.9");
  EXPECT_EQ(format_exact(-3.0), "-3");
  EXPECT_EQ(format_exact(1e-4), "0.0001");
  EXPECT_EQ(format_exact(1e-9), "1e-9");
  EXPECT_EQ(format_exact(2.5e20), "2.5e20");
  EXPECT_EQ(format_exact(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_exact(INFINITY), "inf");
  EXPECT_EQ(format_exact(-INFINITY), "-inf");
}

TEST(FormatExact, RoundTripsEveryDouble) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> exponent(-300, 300);
  std::uniform_real_distribution<double> mantissa(-10.0, 10.0);
  for (int i = 0; i < 20000; ++i) {
    const double value = mantissa(rng) * std::pow(10.0, exponent(rng));
    const std::string text = format_exact(value);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), value) << text;
    EXPECT_LE(text.size(), 24u) << text;
  }
  const double tiny = std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(std::strtod(format_exact(tiny).c_str(), nullptr), tiny);
}

TEST(Trim, StripsBothEnds) {
  EXPECT_EQ(trim("  a b \t\n"), "a b");
  EXPECT_EQ(trim("   "), "");
}

}  // namespace
}  // namespace noisesched

// noisesched/common/numbers.h: strict number parsing and exact number printing.
//
// Parsing accepts the whole string or throws (no "3abc" read as 3, no NaN or infinity unless the
// caller asks for them). Printing uses the shortest decimal form that reads back to the same
// double, so printed values are exact and round-trip through any parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace noisesched {

// Parses a finite double; `what` names the value in the error ("sigmoid: tau").
double parse_double(std::string_view text, std::string_view what);

// Parses an integer in [min_value, max_value].
long long parse_integer(std::string_view text, std::string_view what, long long min_value,
                        long long max_value);

// Shortest decimal that reads back as exactly `value`; "inf", "-inf" and "nan" otherwise.
std::string format_exact(double value);

// `value` with `digits` significant digits (%g style), for human-readable tables.
std::string format_significant(double value, int digits);

// `value` with `decimals` digits after the point (%.*f), for tables and prose.
std::string format_fixed(double value, int decimals);

// A list of integers as TOML writes it: "[1, 2, 2]".
std::string format_integer_list(const std::vector<int>& values);

// Strips ASCII white space from both ends.
std::string_view trim(std::string_view text);

}  // namespace noisesched

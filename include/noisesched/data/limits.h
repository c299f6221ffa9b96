// noisesched/data/limits.h: how large an input may claim to be before it is refused.
//
// Headers are checked against these limits before anything is allocated, so a corrupt or hostile
// file (an IDX count of 2^64, a PNG header of 100000 x 100000 pixels, a gzip bomb) gets an error
// naming the file and the limit instead of an out-of-memory kill.
#pragma once

#include <cstdint>

namespace noisesched {

// The longest side of an image a data set may hold (PNG, JPEG, IDX rows and columns). 16384^2
// RGB pixels are 768 MiB decoded.
inline constexpr std::uint32_t kMaxImageSide = 16384;
// The most bytes an IDX file may hold once decompressed (a data set's pixels live in memory).
inline constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{16} << 30;

}  // namespace noisesched

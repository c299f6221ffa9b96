// noisesched/data/limits.h: how large an input may claim to be before it is refused.
//
// Headers are checked against these limits before anything is allocated, so a corrupt or hostile
// file (an IDX count of 2^64, a PNG header of 100000 x 100000 pixels, a gzip bomb) gets an error
// naming the file and the limit instead of an out-of-memory kill.
#pragma once

#include <cstdint>

namespace noisesched {

// The longest side of an image a data set may hold (PNG, JPEG, IDX rows and columns).
inline constexpr std::uint32_t kMaxImageSide = 16384;
// The most pixels a PNG or JPEG may have: 2^26 (8192^2, 192 MiB as RGB), more than any camera's.
// A 644-byte JPEG that claims 12918 x 16140 pixels (libjpeg fills what the file lacks) took
// seconds to decode and resize: found by fuzzing, fuzz/corpus/image/crash-jpeg-208-megapixels.
inline constexpr std::uint64_t kMaxImagePixels = std::uint64_t{1} << 26;
// The most bytes an IDX file may hold once decompressed (a data set's pixels live in memory).
inline constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{16} << 30;

}  // namespace noisesched

// noisesched/data/idx.h: MNIST-style IDX files (plain or gzip), e.g. Fashion-MNIST.
//
// Format (LeCun et al.): a big-endian header 0x00 0x00 <type> <ndims>, ndims big-endian uint32
// sizes, then the data. Images are type 0x08 (unsigned byte) with 3 dimensions [N, rows, cols];
// labels are type 0x08 with 1 dimension [N].
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "noisesched/data/dataset.h"

namespace noisesched {

struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads an unsigned-byte IDX file with `expected_dims` dimensions (gzip or plain). Throws naming
// the file for a wrong magic number, a truncated or over-long file, a corrupt gzip stream, or a
// header that claims more than kMaxIdxBytes (checked before the data is read).
IdxArray read_idx_ubyte(const std::string& path, int expected_dims);

// The same from bytes already in memory; `name` is the file named in errors.
IdxArray parse_idx_ubyte(const std::uint8_t* bytes, std::size_t size, int expected_dims,
                         const std::string& name);

// Images and labels from two IDX files, resized to `resolution`. Labels must lie in
// [0, num_classes); the counts must agree.
std::unique_ptr<Dataset> open_idx_dataset(const std::string& images_path,
                                          const std::string& labels_path, int resolution,
                                          int num_classes, std::vector<std::string> class_names);

// The files of an MNIST-layout folder: <folder>/<prefix>-images-idx3-ubyte[.gz] and
// <prefix>-labels-idx1-ubyte[.gz], prefix "train" or "t10k" (split "test").
struct IdxFiles {
  std::string images, labels;
};
IdxFiles find_idx_files(const std::string& folder, const std::string& split);

}  // namespace noisesched

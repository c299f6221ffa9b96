// noisesched/data/dataset.h: labelled image data sets at a chosen square resolution.
//
// A Dataset hands out examples as unsigned bytes, channels first ([C, H, W], H = W = resolution),
// already resized; augmentation and batching live in the loader. Implementations are thread-safe:
// loader workers call load() concurrently. No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "noisesched/config/config.h"

namespace noisesched {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::size_t size() const = 0;
  virtual int num_classes() const = 0;
  virtual int channels() const = 0;
  virtual int resolution() const = 0;
  // Writes example `index` (< size()) as [C, H, W] bytes into `out` (channels() * resolution()^2
  // bytes) and returns its label in [0, num_classes()). Throws naming the file on failure.
  virtual int load(std::size_t index, std::uint8_t* out) const = 0;
  // One line for logs: what was read from where, and anything skipped.
  virtual std::string describe() const = 0;
  virtual std::vector<std::string> class_names() const = 0;

  std::size_t example_bytes() const {
    return static_cast<std::size_t>(channels()) * resolution() * resolution();
  }
};

// The data set a configuration names (data.dataset, data.path, data.split, data.resolution,
// data.limit, data.skip_bad_images).
std::unique_ptr<Dataset> open_dataset(const DataConfig& config);

// `count` images held in memory as [N, C, H, W] bytes, each centre-cropped to a square and resized
// to `resolution` the way the image-folder data set does (kept as they are when already square
// at that size); one class. Throws when the sizes disagree.
std::unique_ptr<Dataset> memory_dataset(std::vector<std::uint8_t> images, std::size_t count,
                                        int channels, int height, int width, int resolution);
// The first `limit` examples of `base` (all when limit is 0 or larger than the data set).
std::unique_ptr<Dataset> limit_dataset(std::unique_ptr<Dataset> base, std::size_t limit);

}  // namespace noisesched

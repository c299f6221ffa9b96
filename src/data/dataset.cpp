// Opening the configured data set (see dataset.h).
#include "noisesched/data/dataset.h"

#include <algorithm>

#include "noisesched/common/error.h"
#include "noisesched/data/idx.h"
#include "noisesched/data/image_folder.h"
#include "noisesched/data/image_ops.h"

namespace noisesched {
namespace {

class LimitedDataset final : public Dataset {
 public:
  LimitedDataset(std::unique_ptr<Dataset> base, std::size_t limit)
      : base_(std::move(base)), limit_(limit) {}
  std::size_t size() const override { return limit_; }
  int num_classes() const override { return base_->num_classes(); }
  int channels() const override { return base_->channels(); }
  int resolution() const override { return base_->resolution(); }
  int load(std::size_t index, std::uint8_t* out) const override { return base_->load(index, out); }
  std::string describe() const override {
    return base_->describe() + "; using the first " + std::to_string(limit_);
  }
  std::vector<std::string> class_names() const override { return base_->class_names(); }

 private:
  std::unique_ptr<Dataset> base_;
  std::size_t limit_;
};

class MemoryDataset final : public Dataset {
 public:
  MemoryDataset(std::vector<std::uint8_t> images, std::size_t count, int channels, int height,
                int width, int resolution)
      : images_(std::move(images)),
        count_(count),
        channels_(channels),
        height_(height),
        width_(width),
        resolution_(resolution) {}
  std::size_t size() const override { return count_; }
  int num_classes() const override { return 1; }
  int channels() const override { return channels_; }
  int resolution() const override { return resolution_; }
  std::vector<std::string> class_names() const override { return {"images"}; }
  std::string describe() const override {
    return std::to_string(count_) + " images " + std::to_string(height_) + "x" +
           std::to_string(width_) + " held in memory, at " + std::to_string(resolution_) + "x" +
           std::to_string(resolution_);
  }
  int load(std::size_t index, std::uint8_t* out) const override {
    const std::size_t bytes = static_cast<std::size_t>(channels_) * height_ * width_;
    const std::uint8_t* chw = images_.data() + index * bytes;
    if (height_ == resolution_ && width_ == resolution_) {
      std::copy(chw, chw + bytes, out);
      return 0;
    }
    std::vector<std::uint8_t> hwc(bytes);
    for (int c = 0; c < channels_; ++c) {
      for (std::size_t p = 0; p < static_cast<std::size_t>(height_) * width_; ++p) {
        hwc[p * channels_ + c] = chw[c * static_cast<std::size_t>(height_) * width_ + p];
      }
    }
    int side = 0;
    const auto square = center_crop_square_hwc(hwc.data(), width_, height_, channels_, &side);
    const auto resized = resize_hwc(square.data(), side, side, channels_, resolution_, resolution_);
    hwc_to_chw(resized.data(), resolution_, resolution_, channels_, out);
    return 0;
  }

 private:
  std::vector<std::uint8_t> images_;
  std::size_t count_;
  int channels_, height_, width_, resolution_;
};

}  // namespace

std::unique_ptr<Dataset> memory_dataset(std::vector<std::uint8_t> images, std::size_t count,
                                        int channels, int height, int width, int resolution) {
  if (count == 0 || channels < 1 || height < 1 || width < 1 || resolution < 1) {
    throw Error(
        "images in memory: need at least one image with positive channels, height, "
        "width and resolution (got " +
        std::to_string(count) + " images of " + std::to_string(channels) + "x" +
        std::to_string(height) + "x" + std::to_string(width) + " at " + std::to_string(resolution) +
        " px)");
  }
  if (images.size() != count * channels * static_cast<std::size_t>(height) * width) {
    throw Error("images in memory: " + std::to_string(images.size()) + " bytes for " +
                std::to_string(count) + " images of " + std::to_string(channels) + "x" +
                std::to_string(height) + "x" + std::to_string(width));
  }
  return std::make_unique<MemoryDataset>(std::move(images), count, channels, height, width,
                                         resolution);
}

std::unique_ptr<Dataset> limit_dataset(std::unique_ptr<Dataset> base, std::size_t limit) {
  if (limit == 0 || limit >= base->size()) return base;
  return std::make_unique<LimitedDataset>(std::move(base), limit);
}

std::unique_ptr<Dataset> open_dataset(const DataConfig& config) {
  std::unique_ptr<Dataset> dataset;
  if (config.dataset == "fashion_mnist" || config.dataset == "mnist") {
    const IdxFiles files = find_idx_files(config.path, config.split);
    std::vector<std::string> names =
        config.dataset == "fashion_mnist"
            ? std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"}
            : std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    dataset = open_idx_dataset(files.images, files.labels, config.resolution, 10, std::move(names));
  } else if (config.dataset == "folder") {
    dataset = open_image_folder(config.path, config.resolution, config.skip_bad_images);
  } else {
    throw Error("data.dataset '" + config.dataset +
                "' is not known; valid: fashion_mnist, mnist, folder");
  }
  return limit_dataset(std::move(dataset), static_cast<std::size_t>(std::max(0, config.limit)));
}

}  // namespace noisesched

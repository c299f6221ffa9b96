// Opening the configured data set (see dataset.h).
#include "noisesched/data/dataset.h"

#include <algorithm>

#include "noisesched/common/error.h"
#include "noisesched/data/idx.h"
#include "noisesched/data/image_folder.h"

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

}  // namespace

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

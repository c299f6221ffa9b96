// Image-folder data sets (see image_folder.h).
#include "noisesched/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/data/image_io.h"
#include "noisesched/data/image_ops.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

class ImageFolderDataset final : public Dataset {
 public:
  ImageFolderDataset(std::string root, int resolution, std::vector<std::string> classes,
                     std::vector<std::pair<std::string, int>> items, std::size_t skipped)
      : root_(std::move(root)),
        resolution_(resolution),
        classes_(std::move(classes)),
        items_(std::move(items)),
        skipped_(skipped) {}

  std::size_t size() const override { return items_.size(); }
  int num_classes() const override { return static_cast<int>(classes_.size()); }
  int channels() const override { return 3; }
  int resolution() const override { return resolution_; }
  std::vector<std::string> class_names() const override { return classes_; }

  int load(std::size_t index, std::uint8_t* out) const override {
    const auto& [path, label] = items_[index];
    const std::string bytes = read_file(path, "image");
    ImageHWC image;
    try {
      image =
          decode_image(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), 3, path);
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + "; remove or replace it");
    }
    int side = 0;
    const auto square =
        center_crop_square_hwc(image.pixels.data(), image.width, image.height, 3, &side);
    const auto resized = resize_hwc(square.data(), side, side, 3, resolution_, resolution_);
    hwc_to_chw(resized.data(), resolution_, resolution_, 3, out);
    return label;
  }

  std::string describe() const override {
    std::string text = std::to_string(items_.size()) + " images in " +
                       std::to_string(classes_.size()) + " classes from " + root_ +
                       ", centre-cropped and resized to " + std::to_string(resolution_) + "x" +
                       std::to_string(resolution_);
    if (skipped_ > 0) text += "; skipped " + std::to_string(skipped_) + " unreadable images";
    return text;
  }

 private:
  std::string root_;
  int resolution_;
  std::vector<std::string> classes_;
  std::vector<std::pair<std::string, int>> items_;
  std::size_t skipped_;
};

}  // namespace

std::unique_ptr<Dataset> open_image_folder(const std::string& root, int resolution,
                                           bool skip_bad_images) {
  std::error_code error;
  if (!fs::is_directory(root, error)) throw Error("image folder '" + root + "': not a folder");
  std::vector<std::string> classes;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) classes.push_back(entry.path().filename().string());
  }
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) {
    throw Error("image folder '" + root +
                "': no class sub-folders (expected <root>/<class>/*.jpg)");
  }
  std::vector<std::pair<std::string, int>> items;
  std::size_t skipped = 0;
  for (std::size_t label = 0; label < classes.size(); ++label) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(fs::path(root) / classes[label])) {
      if (entry.is_regular_file() && is_image_name(entry.path())) {
        files.push_back(entry.path().string());
      }
    }
    if (files.empty()) {
      throw Error("image folder '" + root + "': class folder '" + classes[label] +
                  "' has no .jpg, .jpeg or .png images");
    }
    std::sort(files.begin(), files.end());
    for (auto& file : files) {
      const std::string problem = probe_image_file(file);
      if (!problem.empty()) {
        if (!skip_bad_images) {
          throw Error(problem +
                      "; remove it, or set data.skip_bad_images = true to leave such files out");
        }
        ++skipped;
        continue;
      }
      items.emplace_back(std::move(file), static_cast<int>(label));
    }
  }
  if (items.empty()) throw Error("image folder '" + root + "': no readable images");
  return std::make_unique<ImageFolderDataset>(root, resolution, std::move(classes),
                                              std::move(items), skipped);
}

}  // namespace noisesched

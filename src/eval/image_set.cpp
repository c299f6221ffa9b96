// Whole image sets in memory; see noisesched/eval/image_set.h.
#include "noisesched/eval/image_set.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/core/generators.h"
#include "noisesched/data/image_io.h"

namespace noisesched {
namespace fs = std::filesystem;

ImageSet load_image_set(const Dataset& dataset) {
  const auto n = static_cast<std::int64_t>(dataset.size());
  ImageSet set;
  set.images =
      at::empty({n, dataset.channels(), dataset.resolution(), dataset.resolution()}, at::kByte);
  set.labels = at::empty({n}, at::kLong);
  auto* pixels = set.images.data_ptr<std::uint8_t>();
  auto* labels = set.labels.data_ptr<std::int64_t>();
  const std::size_t bytes = dataset.example_bytes();
  at::parallel_for(0, n, 256, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      labels[i] = dataset.load(static_cast<std::size_t>(i), pixels + i * bytes);
    }
  });
  return set;
}

ImageSet load_image_folder_flat(const std::string& folder, int channels,
                                const std::vector<std::string>& exclude) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error("image folder '" + folder + "' does not exist");
  std::vector<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file() || entry.path().filename().string().rfind('.', 0) == 0) continue;
    if (std::any_of(exclude.begin(), exclude.end(),
                    [&](const std::string& e) { return fs::equivalent(entry.path(), e, ec); })) {
      continue;
    }
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") paths.push_back(entry.path().string());
  }
  if (paths.empty()) throw Error("image folder '" + folder + "' holds no PNG or JPEG image");
  std::sort(paths.begin(), paths.end());
  const ImageCHW first = read_image(paths.front(), channels);
  const auto n = static_cast<std::int64_t>(paths.size());
  ImageSet set;
  set.images = at::empty({n, channels, first.height, first.width}, at::kByte);
  set.labels = at::full({n}, -1, at::kLong);
  const std::size_t bytes = first.pixels.size();
  for (std::int64_t i = 0; i < n; ++i) {
    const ImageCHW image =
        i == 0 ? first : read_image(paths[static_cast<std::size_t>(i)], channels);
    if (image.height != first.height || image.width != first.width) {
      throw Error("'" + paths[static_cast<std::size_t>(i)] + "' is " + std::to_string(image.width) +
                  "x" + std::to_string(image.height) + ", but '" + paths.front() + "' is " +
                  std::to_string(first.width) + "x" + std::to_string(first.height) +
                  ": evaluate images of one size");
    }
    std::memcpy(set.images.data_ptr<std::uint8_t>() + i * bytes, image.pixels.data(), bytes);
  }
  return set;
}

namespace {

// SIGMA of "blur:SIGMA", checked.
double blur_sigma(const std::string& corruption) {
  const double sigma = parse_double(corruption.substr(5), "--corrupt blur: sigma");
  if (!(sigma > 0)) {
    throw Error("--corrupt blur:SIGMA needs SIGMA > 0 (got " + corruption.substr(5) + ")");
  }
  return sigma;
}

}  // namespace

at::Tensor corrupt_images(const at::Tensor& images, const std::string& corruption,
                          std::uint64_t seed, std::int64_t first) {
  if (corruption == "none") return images;
  if (corruption == "uniform") {
    at::Generator generator = seeded_generator(c10::Device(c10::kCPU), seed);
    const auto draw = [&](at::IntArrayRef sizes) {
      return at::randint(0, 256, sizes, generator, at::TensorOptions().dtype(at::kLong));
    };
    // The values of the images before `first`, drawn and dropped in bounded pieces: the CPU
    // generator gives one value per element in order, so what follows is image `first`'s.
    const std::int64_t per_image = images.numel() / std::max<std::int64_t>(images.size(0), 1);
    for (std::int64_t skipped = 0; skipped < first;) {
      const std::int64_t n = std::min<std::int64_t>(first - skipped, 1024);
      draw({n * per_image});
      skipped += n;
    }
    return draw(images.sizes()).to(at::kByte);
  }
  if (corruption.rfind("blur:", 0) == 0) {
    const double sigma = blur_sigma(corruption);
    const int radius = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
    std::vector<float> taps;
    float total = 0;
    for (int i = -radius; i <= radius; ++i) {
      taps.push_back(static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma))));
      total += taps.back();
    }
    for (float& t : taps) t /= total;
    const at::Tensor kernel = at::tensor(taps);
    const std::int64_t c = images.size(1);
    // Separable blur, each channel on its own: [N*C, 1, H, W].
    at::Tensor x = images.to(at::kFloat).reshape({-1, 1, images.size(2), images.size(3)});
    x = at::reflection_pad2d(x, {radius, radius, 0, 0});
    x = at::conv2d(x, kernel.view({1, 1, 1, -1}));
    x = at::reflection_pad2d(x, {0, 0, radius, radius});
    x = at::conv2d(x, kernel.view({1, 1, -1, 1}));
    return x.reshape({-1, c, images.size(2), images.size(3)}).round().clamp(0, 255).to(at::kByte);
  }
  check_corruption(corruption);  // throws: not a known corruption
  return images;
}

void check_corruption(const std::string& corruption) {
  if (corruption == "none" || corruption == "uniform") return;
  if (corruption.rfind("blur:", 0) == 0) {
    blur_sigma(corruption);
    return;
  }
  throw Error("--corrupt '" + corruption + "' is not known; valid: none, uniform, blur:SIGMA");
}

}  // namespace noisesched

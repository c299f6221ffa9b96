// PNG output and image grids (see image_io.h).
#include "noisesched/data/image_io.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"

namespace noisesched {

void write_png(const std::string& path, const ImageCHW& image) {
  if (image.channels != 1 && image.channels != 3) {
    throw Error("write_png '" + path + "': " + std::to_string(image.channels) +
                " channels; expected 1 or 3");
  }
  const std::size_t plane = static_cast<std::size_t>(image.height) * image.width;
  if (image.pixels.size() != plane * image.channels || plane == 0) {
    throw Error("write_png '" + path + "': pixel buffer does not match " +
                std::to_string(image.channels) + "x" + std::to_string(image.height) + "x" +
                std::to_string(image.width));
  }
  std::vector<std::uint8_t> hwc(image.pixels.size());
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < image.channels; ++c)
      hwc[i * image.channels + c] = image.pixels[c * plane + i];
  }
  std::vector<std::uint8_t> encoded;
  const int ok = stbi_write_png_to_func(
      [](void* context, void* data, int size) {
        auto* out = static_cast<std::vector<std::uint8_t>*>(context);
        out->insert(out->end(), static_cast<std::uint8_t*>(data),
                    static_cast<std::uint8_t*>(data) + size);
      },
      &encoded, image.width, image.height, image.channels, hwc.data(),
      image.width * image.channels);
  if (!ok) throw Error("write_png '" + path + "': PNG encoding failed");
  write_file_atomically(
      path, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

ImageCHW read_image(const std::string& path, int channels) {
  int width = 0, height = 0, found = 0;
  unsigned char* pixels = stbi_load(path.c_str(), &width, &height, &found, channels);
  if (pixels == nullptr) {
    throw Error("'" + path + "': cannot read image (" + stbi_failure_reason() + ")");
  }
  ImageCHW image{channels, height, width, {}};
  image.pixels.resize(static_cast<std::size_t>(channels) * width * height);
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < channels; ++c) image.pixels[c * plane + i] = pixels[i * channels + c];
  }
  stbi_image_free(pixels);
  return image;
}

ImageCHW make_grid(const std::vector<ImageCHW>& images, int columns, int padding,
                   std::uint8_t background, int zoom) {
  if (images.empty()) throw Error("make_grid: no images");
  if (columns < 1 || zoom < 1 || padding < 0) throw Error("make_grid: bad layout");
  const int c = images[0].channels, h = images[0].height, w = images[0].width;
  for (const auto& image : images) {
    if (image.channels != c || image.height != h || image.width != w) {
      throw Error("make_grid: images differ in size");
    }
  }
  const int rows = (static_cast<int>(images.size()) + columns - 1) / columns;
  const int cell_h = h * zoom, cell_w = w * zoom;
  ImageCHW grid{c, padding + rows * (cell_h + padding), padding + columns * (cell_w + padding), {}};
  grid.pixels.assign(static_cast<std::size_t>(c) * grid.height * grid.width, background);
  for (std::size_t n = 0; n < images.size(); ++n) {
    const int top = padding + static_cast<int>(n / columns) * (cell_h + padding);
    const int left = padding + static_cast<int>(n % columns) * (cell_w + padding);
    for (int ch = 0; ch < c; ++ch) {
      for (int y = 0; y < cell_h; ++y) {
        for (int x = 0; x < cell_w; ++x) {
          grid.pixels[(static_cast<std::size_t>(ch) * grid.height + top + y) * grid.width + left +
                      x] =
              images[n].pixels[(static_cast<std::size_t>(ch) * h + y / zoom) * w + x / zoom];
        }
      }
    }
  }
  return grid;
}

}  // namespace noisesched

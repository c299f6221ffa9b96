// Byte-image resizing and cropping (see image_ops.h).
#include "noisesched/data/image_ops.h"

#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "noisesched/common/error.h"

namespace noisesched {

std::vector<std::uint8_t> resize_hwc(const std::uint8_t* pixels, int width, int height,
                                     int channels, int out_width, int out_height) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(out_width) * out_height * channels);
  if (width == out_width && height == out_height) {
    std::memcpy(out.data(), pixels, out.size());
    return out;
  }
  const int ok =
      stbir_resize_uint8_generic(pixels, width, height, 0, out.data(), out_width, out_height, 0,
                                 channels, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                 STBIR_FILTER_DEFAULT, STBIR_COLORSPACE_LINEAR, nullptr);
  if (!ok) {
    throw Error("cannot resize a " + std::to_string(width) + "x" + std::to_string(height) +
                " image to " + std::to_string(out_width) + "x" + std::to_string(out_height));
  }
  return out;
}

std::vector<std::uint8_t> center_crop_square_hwc(const std::uint8_t* pixels, int width, int height,
                                                 int channels, int* side_out) {
  const int side = std::min(width, height);
  const int x0 = (width - side) / 2, y0 = (height - side) / 2;
  std::vector<std::uint8_t> out(static_cast<std::size_t>(side) * side * channels);
  for (int y = 0; y < side; ++y) {
    std::memcpy(out.data() + static_cast<std::size_t>(y) * side * channels,
                pixels + (static_cast<std::size_t>(y0 + y) * width + x0) * channels,
                static_cast<std::size_t>(side) * channels);
  }
  *side_out = side;
  return out;
}

void hwc_to_chw(const std::uint8_t* hwc, int width, int height, int channels, std::uint8_t* chw) {
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < channels; ++c) chw[c * plane + i] = hwc[i * channels + c];
  }
}

void flip_horizontal_chw(std::uint8_t* chw, int width, int height, int channels) {
  for (int row = 0; row < height * channels; ++row) {
    std::reverse(chw + static_cast<std::size_t>(row) * width,
                 chw + static_cast<std::size_t>(row + 1) * width);
  }
}

}  // namespace noisesched

// noisesched/data/image_io.h: PNG output and image grids (torch-free, stb-based).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace noisesched {

// A byte image, channels first.
struct ImageCHW {
  int channels = 0, height = 0, width = 0;
  std::vector<std::uint8_t> pixels;  // [C, H, W]
};

// Writes an image as PNG atomically (temporary file, then rename); 1 or 3 channels.
void write_png(const std::string& path, const ImageCHW& image);

// An interleaved byte image.
struct ImageHWC {
  int channels = 0, height = 0, width = 0;
  std::vector<std::uint8_t> pixels;  // [H, W, C]
};

// Decodes a PNG or JPEG held in memory to `channels` channels (1 or 3). The header's size is
// checked against kMaxImageSide (data/limits.h) before anything is decoded; errors name `name`.
ImageHWC decode_image(const std::uint8_t* bytes, std::size_t size, int channels,
                      const std::string& name);

// Throws naming `name` when a side is not in [1, kMaxImageSide] or there are more than
// kMaxImagePixels pixels.
void check_image_size(std::int64_t width, std::int64_t height, const std::string& name);

// Reads only the start of an image file: "" when it is a PNG or JPEG whose header gives a size
// within the limits, otherwise what is wrong with it ("'<path>': ...").
std::string probe_image_file(const std::string& path);

// Reads a PNG or JPEG file as [C, H, W] bytes with `channels` channels (1 or 3).
ImageCHW read_image(const std::string& path, int channels);

// Tiles equally sized images row by row into `columns` columns with `padding` pixels of
// `background` between and around them. Images are upscaled by the integer `zoom` (nearest).
ImageCHW make_grid(const std::vector<ImageCHW>& images, int columns, int padding = 2,
                   std::uint8_t background = 255, int zoom = 1);

}  // namespace noisesched

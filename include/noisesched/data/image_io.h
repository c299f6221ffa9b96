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

// Reads a PNG or JPEG as [C, H, W] bytes with `channels` channels (1 or 3).
ImageCHW read_image(const std::string& path, int channels);

// Tiles equally sized images row by row into `columns` columns with `padding` pixels of
// `background` between and around them. Images are upscaled by the integer `zoom` (nearest).
ImageCHW make_grid(const std::vector<ImageCHW>& images, int columns, int padding = 2,
                   std::uint8_t background = 255, int zoom = 1);

}  // namespace noisesched

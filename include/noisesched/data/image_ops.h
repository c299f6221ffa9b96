// noisesched/data/image_ops.h: resizing and cropping of byte images (torch-free, stb-based).
#pragma once

#include <cstdint>
#include <vector>

namespace noisesched {

// Resizes an interleaved [H, W, C] byte image to [out_h, out_w, C] with stb_image_resize's
// default filters (Catmull-Rom up, Mitchell down, i.e. antialiased) in linear space.
std::vector<std::uint8_t> resize_hwc(const std::uint8_t* pixels, int width, int height,
                                     int channels, int out_width, int out_height);

// The central square of side min(width, height) of an [H, W, C] image.
std::vector<std::uint8_t> center_crop_square_hwc(const std::uint8_t* pixels, int width, int height,
                                                 int channels, int* side);

// [H, W, C] -> [C, H, W].
void hwc_to_chw(const std::uint8_t* hwc, int width, int height, int channels, std::uint8_t* chw);

// Mirrors each row of a [C, H, W] image in place.
void flip_horizontal_chw(std::uint8_t* chw, int width, int height, int channels);

}  // namespace noisesched

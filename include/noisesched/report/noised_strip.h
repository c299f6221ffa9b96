// noisesched/report/noised_strip.h: the paper's figure of one image at several resolutions,
// each noised at the same gamma (Chen 2023, Figure 1).
//
// At a fixed gamma the noise is independent per pixel while neighbouring pixels of a larger image
// are redundant, so the larger image stays recognisable: larger images need noisier schedules.
// Rows are gammas, columns resolutions; every tile is shown at the largest resolution (nearest
// neighbour), x_t = sqrt(gamma) x + sqrt(1 - gamma) eps clipped to [-1, 1] for display.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "noisesched/data/image_io.h"

namespace noisesched {

struct NoisedStripOptions {
  std::vector<int> resolutions = {32, 64, 128, 256};
  std::vector<double> gammas = {0.8, 0.5, 0.2, 0.05};
  std::uint64_t seed = 0;
  std::string title;
};

// The noised tiles, row-major (gamma-major), each [C, R, R] with R the largest resolution.
std::vector<ImageCHW> noised_tiles(const ImageCHW& source, const NoisedStripOptions& options);

// Draws the labelled figure to a PNG.
void write_noised_strip(const ImageCHW& source, const NoisedStripOptions& options,
                        const std::string& path);

}  // namespace noisesched

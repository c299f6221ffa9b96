// noisesched/eval/image_set.h: whole image sets in memory, the unit evaluation works on.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "noisesched/data/dataset.h"

namespace noisesched {

struct ImageSet {
  at::Tensor images;  // [N, C, H, W] uint8 on the CPU
  at::Tensor labels;  // [N] int64 (-1 where unknown)
};

// Every example of `dataset` (as the data set resizes it).
ImageSet load_image_set(const Dataset& dataset);

// Every PNG or JPEG under `folder` (recursively, sorted by path; hidden files and the paths in
// `exclude` left out), decoded with `channels` channels; all must have one size. Throws naming
// the folder when it holds no image and the file when one is unreadable or differs in size.
ImageSet load_image_folder_flat(const std::string& folder, int channels,
                                const std::vector<std::string>& exclude = {});

// Deliberate corruptions for sanity checks of the metrics (SPEC section 8):
//   "none", "uniform" (every pixel uniform noise, seeded), "blur:SIGMA" (Gaussian blur,
//   SIGMA in pixels, reflect padding). Throws naming the value and the valid choices.
// `images` may be a share of a larger set that starts at image `first`: the share is corrupted
// exactly as those images of the whole set would be (the noise stream is skipped to them), so
// processes that each hold a share corrupt the set one process would.
at::Tensor corrupt_images(const at::Tensor& images, const std::string& corruption,
                          std::uint64_t seed, std::int64_t first = 0);

// Checks a corruption's text as corrupt_images does, without images (to refuse it early).
void check_corruption(const std::string& corruption);

}  // namespace noisesched

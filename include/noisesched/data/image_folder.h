// noisesched/data/image_folder.h: ImageNet-style folders, one sub-folder per class.
//
// <root>/<class>/<image>.{jpg,jpeg,png} (any case). Classes are the sub-folder names in sorted
// order; images are decoded to RGB, centre-cropped to a square and resized (antialiased) to the
// training resolution. Every image's header is checked when the folder is opened, so a broken
// file is reported up front, naming it; with skip_bad_images such files are left out and counted.
#pragma once

#include <memory>
#include <string>

#include "noisesched/data/dataset.h"

namespace noisesched {

std::unique_ptr<Dataset> open_image_folder(const std::string& root, int resolution,
                                           bool skip_bad_images);

}  // namespace noisesched

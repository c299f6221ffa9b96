// The noised-resolution figure (see noised_strip.h).
#include "noisesched/report/noised_strip.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/random.h"
#include "noisesched/data/image_ops.h"
#include "noisesched/report/figure.h"

namespace noisesched {
namespace {

// Standard normal draws from a counter-based generator (Box-Muller), identical everywhere.
class Normal {
 public:
  explicit Normal(std::uint64_t seed) : rng_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(rng_.next() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return radius * std::cos(2.0 * M_PI * u2);
  }

 private:
  SplitMix64 rng_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace

std::vector<ImageCHW> noised_tiles(const ImageCHW& source, const NoisedStripOptions& options) {
  if (options.resolutions.empty() || options.gammas.empty()) {
    throw Error("noised strip: give at least one resolution and one gamma");
  }
  for (int r : options.resolutions) {
    if (r < 1 || r > 4096)
      throw Error("noised strip: resolution " + std::to_string(r) + " is outside [1, 4096]");
  }
  for (double g : options.gammas) {
    if (!(g >= 0 && g <= 1))
      throw Error("noised strip: gamma " + format_exact(g) + " is outside [0, 1]");
  }
  const int c = source.channels;
  const int largest = *std::max_element(options.resolutions.begin(), options.resolutions.end());
  // Square crop of the source, interleaved for resizing.
  std::vector<std::uint8_t> hwc(source.pixels.size());
  const std::size_t plane = static_cast<std::size_t>(source.width) * source.height;
  for (std::size_t i = 0; i < plane; ++i) {
    for (int ch = 0; ch < c; ++ch) hwc[i * c + ch] = source.pixels[ch * plane + i];
  }
  int side = 0;
  const auto square = center_crop_square_hwc(hwc.data(), source.width, source.height, c, &side);
  std::vector<ImageCHW> tiles;
  for (std::size_t gi = 0; gi < options.gammas.size(); ++gi) {
    const double g = options.gammas[gi];
    for (int r : options.resolutions) {
      const auto resized = resize_hwc(square.data(), side, side, c, r, r);
      Normal normal(hash_values({options.seed, static_cast<std::uint64_t>(r), gi}));
      ImageCHW tile{c, largest, largest,
                    std::vector<std::uint8_t>(static_cast<std::size_t>(c) * largest * largest)};
      std::vector<double> noised(resized.size());
      for (std::size_t i = 0; i < resized.size(); ++i) {
        const double x = resized[i] / 127.5 - 1.0;
        const double z = std::sqrt(g) * x + std::sqrt(1.0 - g) * normal.next();
        noised[i] = std::clamp((z + 1.0) * 127.5, 0.0, 255.0);
      }
      for (int y = 0; y < largest; ++y) {
        for (int x = 0; x < largest; ++x) {
          const std::size_t from =
              (static_cast<std::size_t>(y * r / largest) * r + x * r / largest) * c;
          for (int ch = 0; ch < c; ++ch) {
            tile.pixels[(static_cast<std::size_t>(ch) * largest + y) * largest + x] =
                static_cast<std::uint8_t>(std::lround(noised[from + ch]));
          }
        }
      }
      tiles.push_back(std::move(tile));
    }
  }
  return tiles;
}

void write_noised_strip(const ImageCHW& source, const NoisedStripOptions& options,
                        const std::string& path) {
  const auto tiles = noised_tiles(source, options);
  std::string pattern =
      (std::filesystem::temp_directory_path() / "noisesched-strip-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw Error("cannot create a temporary folder");
  const std::filesystem::path scratch = pattern;
  Figure figure;
  figure.title = options.title.empty()
                     ? "the same noise level at different resolutions: x_t = sqrt(gamma) x + "
                       "sqrt(1 - gamma) eps"
                     : options.title;
  figure.columns = static_cast<int>(options.resolutions.size());
  figure.legend = LegendPlacement::kNone;
  figure.panel_size = {3.0, 3.2};
  try {
    for (std::size_t i = 0; i < tiles.size(); ++i) {
      const int r = options.resolutions[i % options.resolutions.size()];
      const double g = options.gammas[i / options.resolutions.size()];
      const std::string tile_path = (scratch / ("tile" + std::to_string(i) + ".png")).string();
      write_png(tile_path, tiles[i]);
      Panel panel;
      panel.image = tile_path;
      panel.title = std::to_string(r) + "x" + std::to_string(r) + ", gamma " + format_exact(g);
      figure.panels.push_back(std::move(panel));
    }
    render_png(figure, path);
  } catch (...) {
    std::filesystem::remove_all(scratch);
    throw;
  }
  std::filesystem::remove_all(scratch);
}

}  // namespace noisesched

// The noised-resolution figure's tiles: layout, determinism and the noise model.
#include "noisesched/report/noised_strip.h"

#include <gtest/gtest.h>

#include <cmath>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

ImageCHW flat_image(int side, std::uint8_t value) {
  return {1, side, side, std::vector<std::uint8_t>(static_cast<std::size_t>(side) * side, value)};
}

TEST(NoisedStrip, OneTilePerGammaAndResolutionAtTheLargestSize) {
  NoisedStripOptions options;
  options.resolutions = {8, 16};
  options.gammas = {1.0, 0.5, 0.0};
  const auto tiles = noised_tiles(flat_image(20, 191), options);
  ASSERT_EQ(tiles.size(), 6u);
  for (const auto& t : tiles) {
    EXPECT_EQ(t.width, 16);
    EXPECT_EQ(t.height, 16);
  }
  // gamma = 1: no noise, the image itself (191 -> x = 0.498 -> back to 191).
  for (auto p : tiles[0].pixels) EXPECT_NEAR(p, 191, 1);
  // gamma = 0: pure noise, symmetric around mid-grey.
  double mean = 0;
  for (auto p : tiles[5].pixels) mean += p;
  mean /= tiles[5].pixels.size();
  EXPECT_NEAR(mean, 127.5, 20);
}

TEST(NoisedStrip, NoiseMatchesTheForwardProcess) {
  // A flat image at x = 0 (byte 127.5 is not representable; 128 -> x = 0.0039) noised at gamma:
  // the displayed value is clip(sqrt(gamma) x + sqrt(1 - gamma) eps), so the unclipped middle of
  // the distribution has standard deviation sqrt(1 - gamma) in x units.
  NoisedStripOptions options;
  options.resolutions = {256};
  options.gammas = {0.96};  // noise std 0.2: clipping at +-1 is a 5-sigma event
  const auto tiles = noised_tiles(flat_image(256, 128), options);
  double sum = 0, sum2 = 0;
  for (auto p : tiles[0].pixels) {
    const double x = p / 127.5 - 1.0;
    sum += x;
    sum2 += x * x;
  }
  const double n = static_cast<double>(tiles[0].pixels.size());
  const double sd = std::sqrt(sum2 / n - (sum / n) * (sum / n));
  EXPECT_NEAR(sd, 0.2, 0.01);
  EXPECT_NEAR(sum / n, std::sqrt(0.96) * (128 / 127.5 - 1), 0.01);
}

TEST(NoisedStrip, SameSeedSameTilesAndBadInputs) {
  NoisedStripOptions options;
  options.resolutions = {8};
  options.gammas = {0.5};
  EXPECT_EQ(noised_tiles(flat_image(8, 50), options)[0].pixels,
            noised_tiles(flat_image(8, 50), options)[0].pixels);
  NoisedStripOptions other = options;
  other.seed = 1;
  EXPECT_NE(noised_tiles(flat_image(8, 50), options)[0].pixels,
            noised_tiles(flat_image(8, 50), other)[0].pixels);
  options.gammas = {1.5};
  EXPECT_THROW(noised_tiles(flat_image(8, 50), options), Error);
  options.gammas = {};
  EXPECT_THROW(noised_tiles(flat_image(8, 50), options), Error);
  options.gammas = {0.5};
  options.resolutions = {0};
  EXPECT_THROW(noised_tiles(flat_image(8, 50), options), Error);
}

}  // namespace
}  // namespace noisesched

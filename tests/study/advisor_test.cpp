// The input-scale advisor: the linear denoiser's error against its closed form, the spectrum of
// known images, and the recovery of a known logSNR shift.
#include "noisesched/study/advisor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

// Images held in memory, one channel.
class MemoryDataset final : public Dataset {
 public:
  MemoryDataset(int resolution, std::vector<std::vector<std::uint8_t>> images)
      : resolution_(resolution), images_(std::move(images)) {}
  std::size_t size() const override { return images_.size(); }
  int num_classes() const override { return 1; }
  int channels() const override { return 1; }
  int resolution() const override { return resolution_; }
  int load(std::size_t index, std::uint8_t* out) const override {
    std::copy(images_[index].begin(), images_[index].end(), out);
    return 0;
  }
  std::string describe() const override { return "memory"; }
  std::vector<std::string> class_names() const override { return {"x"}; }

 private:
  int resolution_;
  std::vector<std::vector<std::uint8_t>> images_;
};

TEST(Advisor, LinearDenoiserErrorIsTheClosedForm) {
  // One eigenvalue lambda: e(l) = 1 / (1 + e^l lambda).
  EXPECT_NEAR(linear_denoiser_error({0.5}, 0.0), 1 / 1.5, 1e-15);
  EXPECT_NEAR(linear_denoiser_error({0.5}, std::log(4.0)), 1 / 3.0, 1e-15);
  // Two: weighted by their share of the variance.
  EXPECT_NEAR(linear_denoiser_error({1.0, 3.0}, 0.0), (1 / 2.0 + 3 / 4.0) / 4, 1e-15);
  EXPECT_THROW(linear_denoiser_error({0.0, 0.0}, 0.0), Error);
}

TEST(Advisor, SpectrumOfCheckerboardsAndNoise) {
  // Images that are +-a checkerboards (random sign): all their variance sits at the highest
  // frequency (pi, pi); the eigenvalues sum to the per-pixel variance times the pixel count.
  const int r = 8;
  std::mt19937 random(1);
  std::vector<std::vector<std::uint8_t>> boards;
  for (int n = 0; n < 200; ++n) {
    const bool sign = random() % 2;
    std::vector<std::uint8_t> image(r * r);
    for (int y = 0; y < r; ++y) {
      for (int x = 0; x < r; ++x) image[y * r + x] = ((x + y) % 2 == 0) == sign ? 255 : 0;
    }
    boards.push_back(image);
  }
  const auto eig = spectrum_eigenvalues(MemoryDataset(r, boards), 0);
  ASSERT_EQ(eig.size(), static_cast<std::size_t>(r * r));
  double total = 0;
  for (const double e : eig) total += e;
  const std::size_t nyquist = (r / 2) * r + r / 2;
  EXPECT_NEAR(eig[nyquist] / total, 1.0, 1e-9);
  // The mean image is about 0, so each pixel's variance is about 1: the sum is about r^2.
  EXPECT_NEAR(total, r * r, 0.05 * r * r);
  // A non-power-of-two size goes through the direct DFT and gives the same total.
  std::vector<std::vector<std::uint8_t>> noise;
  for (int n = 0; n < 300; ++n) {
    std::vector<std::uint8_t> image(6 * 6);
    for (auto& p : image) p = random() % 2 ? 255 : 0;
    noise.push_back(image);
  }
  const auto white = spectrum_eigenvalues(MemoryDataset(6, noise), 0);
  double white_total = 0, white_max = 0;
  for (const double e : white) white_total += e, white_max = std::max(white_max, e);
  EXPECT_NEAR(white_total, 36, 36 * 0.1);
  EXPECT_LT(white_max, 2.0);  // flat: no frequency holds much more than the average of 1
}

TEST(Advisor, RecoversAKnownShift) {
  // Scaling every eigenvalue by c shifts the curve by -ln c: e_c(l) = e(l + ln c). The advisor
  // must find delta = -ln c, so b = 1 / sqrt(c).
  std::vector<double> reference;
  for (int k = 1; k <= 200; ++k) reference.push_back(1.0 / (k * k));
  for (const double c : {4.0, 0.25, 9.0}) {
    std::vector<double> scaled;
    for (const double e : reference) scaled.push_back(c * e);
    const ScaleAdvice a = advise_input_scale(scaled, reference);
    EXPECT_NEAR(a.shift, -std::log(c), 1e-3) << c;
    EXPECT_NEAR(a.b, 1 / std::sqrt(c), 1e-3) << c;
    EXPECT_LT(a.misfit, 1e-4) << c;
  }
  const ScaleAdvice same = advise_input_scale(reference, reference);
  EXPECT_NEAR(same.b, 1.0, 1e-6);
}

}  // namespace
}  // namespace noisesched

// FID, Inception Score, KID and precision/recall against closed forms, brute-force loops and an
// independent SciPy computation.
#include "noisesched/eval/metrics.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "noisesched/io/safetensors.h"
#include "shell_util.h"
#include "test_util.h"

namespace noisesched {
namespace {

at::Tensor gaussian(std::int64_t n, std::int64_t d, double shift, std::uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn({n, d}, g, at::kDouble) + shift;
}

TEST(Fid, IdenticalStatisticsGiveZero) {
  const FeatureStats s = feature_stats(gaussian(500, 16, 0.0, 1));
  EXPECT_NEAR(frechet_distance(s, s), 0.0, 1e-9);
}

TEST(Fid, DiagonalGaussiansMatchTheClosedForm) {
  FeatureStats a, b;
  a.mean = at::tensor({1.0, 2.0, 3.0}, at::kDouble);
  b.mean = at::tensor({0.0, 2.0, 5.0}, at::kDouble);
  a.covariance = at::diag(at::tensor({1.0, 4.0, 9.0}, at::kDouble));
  b.covariance = at::diag(at::tensor({4.0, 1.0, 0.25}, at::kDouble));
  // |mu1 - mu2|^2 = 5; per dimension s1 + s2 - 2 sqrt(s1 s2) = (sqrt s1 - sqrt s2)^2.
  const double expected = 5.0 + 1.0 + 1.0 + 6.25;
  EXPECT_NEAR(frechet_distance(a, b), expected, 1e-12);
}

TEST(Fid, NonCommutingCovariancesMatchTheClosedForm) {
  // S1 = I and S2 = R diag(4, 9) R^T: Tr((S1 S2)^(1/2)) = 2 + 3 whatever the rotation.
  const double c = std::cos(0.7), s = std::sin(0.7);
  const at::Tensor r = at::tensor({c, -s, s, c}, at::kDouble).view({2, 2});
  FeatureStats a, b;
  a.mean = at::zeros({2}, at::kDouble);
  b.mean = at::zeros({2}, at::kDouble);
  a.covariance = at::eye(2, at::kDouble);
  b.covariance = at::mm(at::mm(r, at::diag(at::tensor({4.0, 9.0}, at::kDouble))), r.t());
  EXPECT_NEAR(frechet_distance(a, b), 2.0 + 13.0 - 2.0 * 5.0, 1e-12);
}

TEST(Fid, NearlySingularCovariancesStayFiniteAndNonNegative) {
  // 40 samples in 64 dimensions: both covariances have rank 39.
  const FeatureStats a = feature_stats(gaussian(40, 64, 0.0, 2));
  const FeatureStats b = feature_stats(gaussian(40, 64, 0.0, 3));
  const double fid = frechet_distance(a, b);
  EXPECT_TRUE(std::isfinite(fid));
  EXPECT_GT(fid, 0.0);
  // A constant feature (zero variance) in both sets changes nothing (up to the square roots of
  // round-off-sized eigenvalues, ~1e-8 each).
  FeatureStats a2 = a, b2 = b;
  a2.covariance = at::zeros({65, 65}, at::kDouble);
  a2.covariance.slice(0, 0, 64).slice(1, 0, 64).copy_(a.covariance);
  b2.covariance = at::zeros({65, 65}, at::kDouble);
  b2.covariance.slice(0, 0, 64).slice(1, 0, 64).copy_(b.covariance);
  a2.mean = at::cat({a.mean, at::ones({1}, at::kDouble)});
  b2.mean = at::cat({b.mean, at::ones({1}, at::kDouble)});
  EXPECT_NEAR(frechet_distance(a2, b2), fid, 1e-6 * fid);
}

// SciPy's sqrtm on random feature sets, well and badly conditioned.
TEST(Fid, AgreesWithAnIndependentScipyComputation) {
  std::string tried;
  const std::string python = testing::python_with("numpy scipy", &tried);
  if (python.empty()) GTEST_SKIP() << tried;
  const auto folder = std::filesystem::temp_directory_path() / "noisesched-test-fid";
  std::filesystem::create_directories(folder);
  struct Case {
    std::int64_t n, d;
    double shift;
  };
  for (const Case& c : {Case{300, 8, 0.3}, Case{200, 32, 0.0}, Case{60, 48, 1.0}}) {
    // Correlated features: a random linear map of Gaussians.
    const at::Tensor mix = gaussian(c.d, c.d, 0.0, 7);
    const at::Tensor a = at::mm(gaussian(c.n, c.d, 0.0, 5), mix);
    const at::Tensor b = at::mm(gaussian(c.n + 17, c.d, c.shift, 6), mix) * 1.3;
    const std::string path =
        (folder / ("features_" + std::to_string(c.d) + ".safetensors")).string();
    save_safetensors(path, {{"a", a}, {"b", b}});
    const std::string command =
        python + " " + std::string(NOISESCHED_TEST_DIR) + "/eval/fid_reference.py " + path;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    ASSERT_TRUE(pipe) << command;
    char buffer[128] = {0};
    ASSERT_NE(std::fgets(buffer, sizeof buffer, pipe.get()), nullptr) << command;
    const double scipy = std::stod(buffer);
    const double ours = frechet_distance(feature_stats(a), feature_stats(b));
    // SciPy's general sqrtm loses digits on rank-deficient products (n < d case); ours does not.
    const double tolerance = c.n > c.d ? 1e-8 : 1e-5;
    EXPECT_NEAR(ours, scipy, tolerance * std::max(1.0, scipy)) << "n " << c.n << " d " << c.d;
  }
}

TEST(InceptionScore, ConfidentEvenPredictionsGiveTheClassCount) {
  // One-hot predictions spread evenly over 5 classes: IS = 5 in every split.
  const at::Tensor p = at::one_hot(at::arange(100) % 5, 5).to(at::kDouble);
  const MeanSpread is = inception_score(p, 4);
  EXPECT_NEAR(is.mean, 5.0, 1e-12);
  EXPECT_NEAR(is.spread, 0.0, 1e-12);
  // Uniform predictions say nothing: IS = 1.
  EXPECT_NEAR(inception_score(at::full({50, 7}, 1.0 / 7, at::kDouble), 1).mean, 1.0, 1e-12);
}

TEST(InceptionScore, MatchesTheDefinitionOnRandomProbabilities) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor p = at::softmax(at::randn({30, 4}, g, at::kDouble) * 2, 1);
  double kl = 0;
  for (int i = 0; i < 30; ++i) {
    for (int k = 0; k < 4; ++k) {
      const double pk = p[i][k].item<double>();
      kl += pk * std::log(pk / p.select(1, k).mean().item<double>());
    }
  }
  EXPECT_NEAR(inception_score(p, 1).mean, std::exp(kl / 30), 1e-12);
  EXPECT_NE(testing::error_message([&] { inception_score(p, 31); }).find("splits"),
            std::string::npos);
}

double kid_by_loops(const at::Tensor& x, const at::Tensor& y) {
  const std::int64_t m = x.size(0), d = x.size(1);
  const auto k = [d](const at::Tensor& a, const at::Tensor& b) {
    return std::pow(a.dot(b).item<double>() / static_cast<double>(d) + 1.0, 3);
  };
  double xx = 0, yy = 0, xy = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < m; ++j) {
      if (i != j) {
        xx += k(x[i], x[j]);
        yy += k(y[i], y[j]);
      }
      xy += k(x[i], y[j]);
    }
  }
  const double mm1 = static_cast<double>(m * (m - 1));
  return xx / mm1 + yy / mm1 - 2.0 * xy / static_cast<double>(m * m);
}

TEST(Kid, OneFullSubsetEqualsTheUnbiasedEstimateByLoops) {
  const at::Tensor x = gaussian(12, 3, 0.0, 21), y = gaussian(12, 3, 0.4, 22);
  // A subset as large as the sets is the whole set (in another order, which MMD ignores).
  const MeanSpread kid = kernel_inception_distance(x, y, 3, 12, 0);
  EXPECT_NEAR(kid.mean, kid_by_loops(x, y), 1e-10);
  EXPECT_NEAR(kid.spread, 0.0, 1e-10);
}

TEST(Kid, NearZeroForOneDistributionAndClearlyPositiveForTwo) {
  const at::Tensor a = gaussian(2000, 16, 0.0, 31), b = gaussian(2000, 16, 0.0, 32);
  const at::Tensor shifted = gaussian(2000, 16, 0.5, 33);
  const MeanSpread same = kernel_inception_distance(a, b, 20, 500, 1);
  const MeanSpread different = kernel_inception_distance(a, shifted, 20, 500, 1);
  EXPECT_GT(different.mean, 0.0);
  EXPECT_LT(std::abs(same.mean), 0.05 * different.mean);
  EXPECT_LT(std::abs(same.mean), 3.0 * same.spread);
}

TEST(PrecisionRecall, MatchesBruteForceManifolds) {
  const at::Tensor real = gaussian(40, 2, 0.0, 41), fake = gaussian(30, 2, 0.8, 42) * 1.5;
  const int k = 3;
  const auto radii = [k](const at::Tensor& x) {
    std::vector<double> r;
    for (std::int64_t i = 0; i < x.size(0); ++i) {
      std::vector<double> d;
      for (std::int64_t j = 0; j < x.size(0); ++j) {
        if (j != i) d.push_back((x[i] - x[j]).pow(2).sum().item<double>());
      }
      std::sort(d.begin(), d.end());
      r.push_back(d[k - 1]);
    }
    return r;
  };
  const auto share = [](const at::Tensor& q, const at::Tensor& s, const std::vector<double>& r) {
    int inside = 0;
    for (std::int64_t i = 0; i < q.size(0); ++i) {
      for (std::int64_t j = 0; j < s.size(0); ++j) {
        if ((q[i] - s[j]).pow(2).sum().item<double>() <= r[j]) {
          ++inside;
          break;
        }
      }
    }
    return static_cast<double>(inside) / static_cast<double>(q.size(0));
  };
  const PrecisionRecall pr = precision_recall(real, fake, k);
  EXPECT_DOUBLE_EQ(pr.precision, share(fake, real, radii(real)));
  EXPECT_DOUBLE_EQ(pr.recall, share(real, fake, radii(fake)));
  EXPECT_GT(pr.precision, 0.0);
  EXPECT_LT(pr.precision, 1.0);
}

TEST(PrecisionRecall, IdenticalSetsAreFullAndDistantSetsEmpty) {
  const at::Tensor x = gaussian(200, 4, 0.0, 51);
  const PrecisionRecall same = precision_recall(x, x, 3);
  EXPECT_EQ(same.precision, 1.0);
  EXPECT_EQ(same.recall, 1.0);
  const PrecisionRecall far = precision_recall(x, x + 100.0, 3);
  EXPECT_EQ(far.precision, 0.0);
  EXPECT_EQ(far.recall, 0.0);
  EXPECT_NE(testing::error_message([&] { precision_recall(x, x, 200); }).find("k"),
            std::string::npos);
}

}  // namespace
}  // namespace noisesched

// Sample-quality metrics on features; see noisesched/eval/metrics.h.
#include "noisesched/eval/metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"

namespace noisesched {
namespace {

at::Tensor as_double_matrix(const at::Tensor& x, const char* what) {
  if (!x.defined() || x.dim() != 2) {
    throw Error(std::string(what) + " must be a matrix [N, D]");
  }
  return x.to(at::kCPU, at::kDouble).contiguous();
}

MeanSpread mean_spread(const std::vector<double>& values) {
  MeanSpread r;
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(values.size());
  for (double v : values) r.spread += (v - r.mean) * (v - r.mean);
  r.spread = std::sqrt(r.spread / static_cast<double>(values.size()));
  return r;
}

// Squared Euclidean distances [A, B] between rows, in float64.
at::Tensor squared_distances(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor aa = (a * a).sum(1, true);
  const at::Tensor bb = (b * b).sum(1, true).t();
  return (aa + bb - 2.0 * at::mm(a, b.t())).clamp_min(0.0);
}

constexpr std::int64_t kDistanceChunk = 1024;

// For each row of `x`: the squared distance to its k-th nearest other row.
at::Tensor kth_neighbour_radii(const at::Tensor& x, int k) {
  std::vector<at::Tensor> parts;
  for (std::int64_t begin = 0; begin < x.size(0); begin += kDistanceChunk) {
    const std::int64_t end = std::min<std::int64_t>(begin + kDistanceChunk, x.size(0));
    // The smallest k + 1 include the row itself (distance 0).
    const at::Tensor d = squared_distances(x.slice(0, begin, end), x);
    parts.push_back(std::get<0>(d.topk(k + 1, 1, /*largest=*/false, /*sorted=*/true)).select(1, k));
  }
  return at::cat(parts);
}

// Share of rows of `query` within the manifold of `support` (balls of squared radius `radii`).
double share_inside(const at::Tensor& query, const at::Tensor& support, const at::Tensor& radii) {
  std::int64_t inside = 0;
  for (std::int64_t begin = 0; begin < query.size(0); begin += kDistanceChunk) {
    const std::int64_t end = std::min<std::int64_t>(begin + kDistanceChunk, query.size(0));
    const at::Tensor d = squared_distances(query.slice(0, begin, end), support);
    inside += (d <= radii.unsqueeze(0)).any(1).sum().item<std::int64_t>();
  }
  return static_cast<double>(inside) / static_cast<double>(query.size(0));
}

}  // namespace

at::Tensor random_rows(const at::Tensor& x, std::int64_t count, std::uint64_t seed) {
  const std::vector<std::uint32_t> order =
      seeded_permutation(static_cast<std::uint32_t>(x.size(0)), seed);
  std::vector<std::int64_t> picked(order.begin(), order.begin() + count);
  return x.index_select(0, at::tensor(picked, at::kLong));
}

FeatureStats feature_stats(const at::Tensor& features) {
  const at::Tensor x = as_double_matrix(features, "features");
  if (x.size(0) < 2) {
    throw Error("feature statistics need at least 2 samples (got " + std::to_string(x.size(0)) +
                ")");
  }
  FeatureStats stats;
  stats.count = x.size(0);
  stats.mean = x.mean(0);
  const at::Tensor centred = x - stats.mean;
  stats.covariance = at::mm(centred.t(), centred) / static_cast<double>(stats.count - 1);
  return stats;
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  if (a.mean.numel() != b.mean.numel()) {
    throw Error("FID of features with different dimensions: " + std::to_string(a.mean.numel()) +
                " and " + std::to_string(b.mean.numel()));
  }
  const at::Tensor s1 = a.covariance.to(at::kDouble);
  const at::Tensor s2 = b.covariance.to(at::kDouble);
  const at::Tensor diff = a.mean.to(at::kDouble) - b.mean.to(at::kDouble);
  // S1^(1/2) from S1 = V diag(w) V^T; symmetrised first so that round-off cannot break eigh.
  at::Tensor w, v;
  std::tie(w, v) = at::linalg_eigh(0.5 * (s1 + s1.t()));
  const at::Tensor root1 = at::mm(v * w.clamp_min(0.0).sqrt().unsqueeze(0), v.t());
  const at::Tensor inner = at::mm(at::mm(root1, s2), root1);
  const at::Tensor eigenvalues = at::linalg_eigvalsh(0.5 * (inner + inner.t()));
  const double trace_sqrt = eigenvalues.clamp_min(0.0).sqrt().sum().item<double>();
  const double fid = diff.dot(diff).item<double>() + s1.trace().item<double>() +
                     s2.trace().item<double>() - 2.0 * trace_sqrt;
  // Round-off can leave -1e-12 for identical statistics; the distance is never negative.
  return std::max(fid, 0.0);
}

MeanSpread inception_score(const at::Tensor& probabilities, int splits) {
  const at::Tensor p = as_double_matrix(probabilities, "class probabilities");
  const std::int64_t n = p.size(0);
  if (splits < 1 || splits > n) {
    throw Error("Inception Score splits must lie in [1, " + std::to_string(n) + "] (got " +
                std::to_string(splits) + ")");
  }
  std::vector<double> scores;
  for (int s = 0; s < splits; ++s) {
    const at::Tensor part = p.slice(0, n * s / splits, n * (s + 1) / splits);
    const at::Tensor marginal = part.mean(0, true);
    // KL with 0 log 0 = 0.
    const at::Tensor kl =
        at::where(part > 0, part * (part.log() - marginal.log()), at::zeros_like(part)).sum(1);
    scores.push_back(std::exp(kl.mean().item<double>()));
  }
  return mean_spread(scores);
}

MeanSpread kernel_inception_distance(const at::Tensor& real, const at::Tensor& fake, int subsets,
                                     int subset_size, std::uint64_t seed) {
  const at::Tensor x = as_double_matrix(real, "real features");
  const at::Tensor y = as_double_matrix(fake, "generated features");
  if (x.size(1) != y.size(1)) throw Error("KID of features with different dimensions");
  if (subsets < 1) throw Error("KID needs at least one subset");
  const std::int64_t m = std::min<std::int64_t>({subset_size, x.size(0), y.size(0)});
  if (m < 2) throw Error("KID needs subsets of at least 2 samples");
  const double d = static_cast<double>(x.size(1));
  const auto kernel = [d](const at::Tensor& a, const at::Tensor& b) {
    return (at::mm(a, b.t()) / d + 1.0).pow(3);
  };
  std::vector<double> values;
  for (int s = 0; s < subsets; ++s) {
    const at::Tensor xs = random_rows(
        x, m, hash_values({seed, purpose::kKidReference, static_cast<std::uint64_t>(s)}));
    const at::Tensor ys = random_rows(
        y, m, hash_values({seed, purpose::kKidGenerated, static_cast<std::uint64_t>(s)}));
    const at::Tensor kxx = kernel(xs, xs), kyy = kernel(ys, ys), kxy = kernel(xs, ys);
    const double mm1 = static_cast<double>(m) * static_cast<double>(m - 1);
    const double within = (kxx.sum().item<double>() - kxx.trace().item<double>()) / mm1 +
                          (kyy.sum().item<double>() - kyy.trace().item<double>()) / mm1;
    values.push_back(within - 2.0 * kxy.mean().item<double>());
  }
  return mean_spread(values);
}

PrecisionRecall precision_recall(const at::Tensor& real, const at::Tensor& fake, int k) {
  const at::Tensor x = as_double_matrix(real, "real features");
  const at::Tensor y = as_double_matrix(fake, "generated features");
  if (x.size(1) != y.size(1)) throw Error("precision/recall of features with different dimensions");
  if (k < 1 || k >= std::min(x.size(0), y.size(0))) {
    throw Error("precision/recall needs 1 <= k < the number of samples in each set (k = " +
                std::to_string(k) + ")");
  }
  PrecisionRecall r;
  r.precision = share_inside(y, x, kth_neighbour_radii(x, k));
  r.recall = share_inside(x, y, kth_neighbour_radii(y, k));
  return r;
}

}  // namespace noisesched

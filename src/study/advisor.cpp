// The input-scale advisor (see advisor.h).
#include "noisesched/study/advisor.h"

#include <cmath>
#include <complex>
#include <numeric>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

using Complex = std::complex<double>;

// In-place DFT of `v`: iterative radix-2 when the length is a power of two, direct otherwise.
void dft(std::vector<Complex>& v) {
  const std::size_t n = v.size();
  const double pi = std::acos(-1.0);
  if (n > 1 && (n & (n - 1)) == 0) {
    for (std::size_t i = 1, j = 0; i < n; ++i) {
      std::size_t bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(v[i], v[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
      const Complex step = std::polar(1.0, -2 * pi / static_cast<double>(len));
      for (std::size_t start = 0; start < n; start += len) {
        Complex w = 1;
        for (std::size_t k = 0; k < len / 2; ++k, w *= step) {
          const Complex a = v[start + k], b = v[start + k + len / 2] * w;
          v[start + k] = a + b;
          v[start + k + len / 2] = a - b;
        }
      }
    }
    return;
  }
  // Direct: O(n^2) with a table of the n roots of unity.
  std::vector<Complex> roots(n), out(n);
  for (std::size_t j = 0; j < n; ++j) roots[j] = std::polar(1.0, -2 * pi * j / n);
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t m = 0; m < n; ++m) out[k] += v[m] * roots[k * m % n];
  }
  v = std::move(out);
}

}  // namespace

std::vector<double> spectrum_eigenvalues(const Dataset& data, std::size_t images) {
  const std::size_t count = images == 0 ? data.size() : std::min(images, data.size());
  if (count < 2)
    throw Error("advisor: needs at least 2 images, the data set has " +
                std::to_string(data.size()));
  const int c = data.channels(), r = data.resolution();
  const std::size_t plane = static_cast<std::size_t>(r) * r, size = plane * c;
  // Images spread evenly over the data set (image folders are ordered by class).
  const auto example = [&](std::size_t i) { return i * data.size() / count; };
  // Pass 1: the mean image; pass 2: the power spectrum of each mean-removed image.
  std::vector<std::uint8_t> bytes(data.example_bytes());
  std::vector<double> mean(size, 0.0);
  for (std::size_t i = 0; i < count; ++i) {
    data.load(example(i), bytes.data());
    for (std::size_t p = 0; p < size; ++p) mean[p] += bytes[p] / 127.5 - 1.0;
  }
  for (auto& m : mean) m /= static_cast<double>(count);
  std::vector<double> power(size, 0.0);
  std::vector<Complex> grid(plane), line(static_cast<std::size_t>(r));
  for (std::size_t i = 0; i < count; ++i) {
    data.load(example(i), bytes.data());
    for (int ch = 0; ch < c; ++ch) {
      const std::size_t base = static_cast<std::size_t>(ch) * plane;
      for (std::size_t p = 0; p < plane; ++p)
        grid[p] = bytes[base + p] / 127.5 - 1.0 - mean[base + p];
      for (int y = 0; y < r; ++y) {  // rows, then columns
        std::copy(grid.begin() + y * r, grid.begin() + (y + 1) * r, line.begin());
        dft(line);
        std::copy(line.begin(), line.end(), grid.begin() + y * r);
      }
      for (int x = 0; x < r; ++x) {
        for (int y = 0; y < r; ++y) line[y] = grid[static_cast<std::size_t>(y) * r + x];
        dft(line);
        for (int y = 0; y < r; ++y) grid[static_cast<std::size_t>(y) * r + x] = line[y];
      }
      for (std::size_t p = 0; p < plane; ++p) power[base + p] += std::norm(grid[p]);
    }
  }
  // Unitary scaling (Parseval): the eigenvalues sum to the total variance.
  for (auto& p : power) p /= static_cast<double>(count) * static_cast<double>(plane);
  return power;
}

double linear_denoiser_error(const std::vector<double>& eigenvalues, double logsnr) {
  const double snr = std::exp(logsnr);
  double left = 0, total = 0;
  for (const double lambda : eigenvalues) {
    left += lambda / (1 + snr * lambda);
    total += lambda;
  }
  if (!(total > 0)) throw Error("advisor: the images have no variance (all alike?)");
  return left / total;
}

ScaleAdvice advise_input_scale(const std::vector<double>& eigenvalues,
                               const std::vector<double>& reference) {
  // Both curves on a grid of logSNR; the shift by a grid search, then refined by golden section.
  std::vector<double> grid, target;
  for (double l = -6; l <= 6 + 1e-9; l += 0.25) {
    grid.push_back(l);
    target.push_back(linear_denoiser_error(reference, l));
  }
  const auto misfit = [&](double shift) {
    double sum = 0;
    for (std::size_t i = 0; i < grid.size(); ++i) {
      const double d = linear_denoiser_error(eigenvalues, grid[i] + shift) - target[i];
      sum += d * d;
    }
    return std::sqrt(sum / static_cast<double>(grid.size()));
  };
  double best = 0, best_misfit = misfit(0);
  for (double shift = -12; shift <= 12 + 1e-9; shift += 0.1) {
    const double m = misfit(shift);
    if (m < best_misfit) best = shift, best_misfit = m;
  }
  double lo = best - 0.1, hi = best + 0.1;
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  for (int i = 0; i < 60; ++i) {
    const double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
    if (misfit(a) < misfit(b))
      hi = b;
    else
      lo = a;
  }
  ScaleAdvice advice;
  advice.shift = (lo + hi) / 2;
  advice.b = std::exp(advice.shift / 2);
  advice.misfit = misfit(advice.shift);
  return advice;
}

std::vector<ResolutionAdvice> advise_study(const StudyPlan& plan, std::size_t images) {
  const auto data_of = [&](int size) {
    for (const auto& cell : plan.cells()) {
      if (cell.resolution == size) return cell.config.data;
    }
    throw Error("no cell at " + std::to_string(size) + " px");
  };
  std::vector<ResolutionAdvice> out;
  if (plan.resolutions.empty()) return out;
  const int first = plan.resolutions.front().size;  // the reference: the first listed
  const auto reference = spectrum_eigenvalues(*open_dataset(data_of(first)), images);
  for (const auto& resolution : plan.resolutions) {
    ResolutionAdvice row;
    row.resolution = resolution.size;
    row.advice = advise_input_scale(
        spectrum_eigenvalues(*open_dataset(data_of(resolution.size)), images), reference);
    out.push_back(row);
  }
  return out;
}

}  // namespace noisesched

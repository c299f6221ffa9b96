// The fuzz targets (see targets.h).
#include "targets.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string_view>

#include "noisesched/common/error.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/data/idx.h"
#include "noisesched/data/image_io.h"
#include "noisesched/data/image_ops.h"
#include "noisesched/io/checkpoint_state.h"
#include "noisesched/io/safetensors_header.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched::fuzz {
namespace {

// A broken invariant: report it and abort, so the fuzzer records the input as a crash.
[[noreturn]] void invariant_broken(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

template <typename F>
Outcome guarded(F&& body) {
  try {
    body();
    return Outcome::kAccepted;
  } catch (const Error&) {
    return Outcome::kRejected;
  }
}

std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

Outcome idx(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return Outcome::kRejected;
  const int dims = (data[0] & 1) ? 3 : 1;
  const bool through_file = (data[0] & 2) != 0;
  return guarded([&] {
    IdxArray array;
    if (through_file) {
      // The file reader (gzip or plain, bounded reads). One file per process.
      static const std::string path =
          "/tmp/noisesched-fuzz-idx-" + std::to_string(::getpid()) + ".bin";
      {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
      }
      array = read_idx_ubyte(path, dims);
    } else {
      array = parse_idx_ubyte(data + 1, size - 1, dims, "fuzz.idx");
    }
    std::size_t count = 1;
    for (const auto d : array.dims) count *= d;
    if (array.data.size() != count) invariant_broken("IDX data size differs from its header");
  });
}

Outcome image(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return Outcome::kRejected;
  const int channels = (data[0] & 1) ? 3 : 1;
  return guarded([&] {
    const ImageHWC decoded = decode_image(data + 1, size - 1, channels, "fuzz.img");
    if (decoded.pixels.size() !=
        static_cast<std::size_t>(decoded.width) * decoded.height * channels) {
      invariant_broken("decoded pixel count differs from width x height x channels");
    }
    int side = 0;
    const auto square = center_crop_square_hwc(decoded.pixels.data(), decoded.width, decoded.height,
                                               channels, &side);
    const auto resized = resize_hwc(square.data(), side, side, channels, 16, 16);
    if (resized.size() != static_cast<std::size_t>(16 * 16 * channels)) {
      invariant_broken("resized image has the wrong size");
    }
  });
}

Outcome safetensors(const std::uint8_t* data, std::size_t size) {
  return guarded([&] {
    const SafetensorsLayout layout = parse_safetensors(as_text(data, size), "fuzz.safetensors");
    for (const auto& entry : layout.entries) {
      if (layout.data_start + entry.end > size) invariant_broken("a tensor lies outside the file");
    }
  });
}

Outcome config(const std::uint8_t* data, std::size_t size) {
  const std::string_view all = as_text(data, size);
  const std::size_t nul = all.find('\0');
  const std::string_view toml = all.substr(0, nul);
  return guarded([&] {
    Config parsed = parse_config(toml, "fuzz.toml");
    if (nul != std::string_view::npos) {
      std::string_view rest = all.substr(nul + 1);
      while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        apply_override(parsed, rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      }
      resolve(parsed);
    }
    const std::string text = config_to_toml(parsed);
    const Config again = parse_config(text, "fuzz-roundtrip.toml");
    const auto differences = config_differences(parsed, again);
    if (!differences.empty()) {
      invariant_broken("config_to_toml does not read back the same: " + differences.front());
    }
  });
}

Outcome schedule(const std::uint8_t* data, std::size_t size) {
  const std::string_view all = as_text(data, size);
  const std::size_t nul = all.find('\0');
  return guarded([&] {
    if (nul == std::string_view::npos) {
      const Schedule s = Schedule::parse(all);
      if (Schedule::parse(s.to_string()) != s) {
        invariant_broken("schedule spec does not round-trip: " + s.to_string());
      }
      double previous = INFINITY;
      for (int i = 0; i <= 64; ++i) {
        const double t = i / 64.0;
        const double gamma = s.gamma(t);
        const double logsnr = s.logsnr(t);
        // Monotone up to rounding (a few ulps of relative error are harmless to the samplers).
        const double slack = std::isfinite(previous) ? 1e-9 * std::max(1.0, std::abs(previous)) : 0;
        if (!(gamma >= 0 && gamma <= 1) || std::isnan(logsnr) || logsnr > previous + slack) {
          invariant_broken("schedule " + s.to_string() + " gives gamma " + std::to_string(gamma) +
                           ", logSNR " + std::to_string(logsnr) + " at t = " + std::to_string(t));
        }
        previous = logsnr;
      }
    } else {
      const InferenceRecipe recipe = InferenceRecipe::parse(all.substr(nul + 1));
      if (!(InferenceRecipe::parse(recipe.to_string()) == recipe)) {
        invariant_broken("recipe does not round-trip: " + recipe.to_string());
      }
      if (recipe.plan().empty()) invariant_broken("recipe has an empty plan");
    }
  });
}

Outcome state(const std::uint8_t* data, std::size_t size) {
  return guarded([&] {
    const CheckpointState s = parse_checkpoint_state(as_text(data, size), "state.json");
    if (s.channels != 1 && s.channels != 3) invariant_broken("accepted channels outside {1, 3}");
    if (s.step < 0 || s.num_classes < 1 || !(s.train_seconds >= 0)) {
      invariant_broken("accepted an out-of-range state");
    }
    // The one writer's text reads back to the same values (the reader's keys, at least).
    const CheckpointState again = parse_checkpoint_state(checkpoint_state_text(s), "again.json");
    if (again.step != s.step || again.channels != s.channels ||
        again.num_classes != s.num_classes || again.class_names != s.class_names ||
        again.train_schedule != s.train_schedule || again.input_scale != s.input_scale ||
        again.target != s.target || again.normalization != s.normalization ||
        again.loss_weight != s.loss_weight || again.self_cond_rate != s.self_cond_rate ||
        again.arch != s.arch || again.resolution != s.resolution ||
        again.train_seconds != s.train_seconds) {
      invariant_broken("checkpoint_state_text does not read back to the same state");
    }
  });
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"idx", "IDX files, plain and gzip", idx},
      {"image", "PNG and JPEG images, decoded and resized", image},
      {"safetensors", "safetensors layouts", safetensors},
      {"config", "TOML configs with --set overrides", config},
      {"schedule", "schedule specs and inference recipes", schedule},
      {"state", "checkpoint state.json", state},
  };
  return all;
}

}  // namespace noisesched::fuzz

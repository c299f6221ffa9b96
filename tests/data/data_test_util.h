// Test helpers: small IDX and image-folder data sets written to temporary folders.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace noisesched::testing {

inline std::vector<std::uint8_t> idx_bytes(std::uint32_t magic,
                                           const std::vector<std::uint32_t>& dims,
                                           const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  auto put = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
  };
  put(magic);
  for (auto d : dims) put(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes,
                        bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
}

// An MNIST-layout folder with `n` images of size x size: image i has a bright row i % size, the
// other pixels (i * 37 + 3 * column) % 200 (not mirror-symmetric), and label i % classes.
inline void write_idx_dataset(const std::filesystem::path& folder, const std::string& prefix, int n,
                              int size, int classes, bool gzip) {
  std::filesystem::create_directories(folder);
  std::vector<std::uint8_t> pixels, labels;
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < size * size; ++p) {
      pixels.push_back(
          p / size == i % size ? 255 : static_cast<std::uint8_t>((i * 37 + 3 * (p % size)) % 200));
    }
    labels.push_back(static_cast<std::uint8_t>(i % classes));
  }
  const std::string ext = gzip ? ".gz" : "";
  write_bytes(folder / (prefix + "-images-idx3-ubyte" + ext),
              idx_bytes(0x803,
                        {static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(size),
                         static_cast<std::uint32_t>(size)},
                        pixels),
              gzip);
  write_bytes(folder / (prefix + "-labels-idx1-ubyte" + ext),
              idx_bytes(0x801, {static_cast<std::uint32_t>(n)}, labels), gzip);
}

inline std::filesystem::path fresh_folder(const std::string& name) {
  const auto folder = std::filesystem::temp_directory_path() / ("noisesched-test-" + name);
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

}  // namespace noisesched::testing

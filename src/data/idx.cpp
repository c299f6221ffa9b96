// IDX reading and the in-memory IDX data set (see idx.h).
#include "noisesched/data/idx.h"

#include <zlib.h>

#include <filesystem>

#include "noisesched/common/error.h"
#include "noisesched/data/image_ops.h"

namespace noisesched {
namespace {

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error("'" + path + "': no such file");
  }
  // gzopen reads gzip streams and passes plain files through unchanged.
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw Error("'" + path + "': cannot open");
  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[1 << 16];
  while (true) {
    const int n = gzread(file, buffer, sizeof(buffer));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw Error("'" + path + "': corrupt or truncated gzip data (" + message + ")");
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  // A gzip stream cut short reads as a clean end of file; gzclose reports it.
  int code = 0;
  const std::string message = gzerror(file, &code);
  if (gzclose(file) != Z_OK || code != Z_OK) {
    throw Error("'" + path + "': corrupt or truncated gzip data (" + message + ")");
  }
  return bytes;
}

std::uint32_t big_endian(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

class IdxDataset final : public Dataset {
 public:
  IdxDataset(IdxArray images, IdxArray labels, std::string source, int resolution, int num_classes,
             std::vector<std::string> class_names)
      : images_(std::move(images)),
        labels_(std::move(labels)),
        source_(std::move(source)),
        resolution_(resolution),
        num_classes_(num_classes),
        class_names_(std::move(class_names)) {}

  std::size_t size() const override { return labels_.data.size(); }
  int num_classes() const override { return num_classes_; }
  int channels() const override { return 1; }
  int resolution() const override { return resolution_; }
  std::vector<std::string> class_names() const override { return class_names_; }

  int load(std::size_t index, std::uint8_t* out) const override {
    const int rows = static_cast<int>(images_.dims[1]), cols = static_cast<int>(images_.dims[2]);
    const std::uint8_t* pixels = images_.data.data() + index * rows * cols;
    if (rows == resolution_ && cols == resolution_) {
      std::copy(pixels, pixels + rows * cols, out);
    } else {
      const auto resized = resize_hwc(pixels, cols, rows, 1, resolution_, resolution_);
      std::copy(resized.begin(), resized.end(), out);
    }
    return labels_.data[index];
  }

  std::string describe() const override {
    return std::to_string(size()) + " images " + std::to_string(images_.dims[1]) + "x" +
           std::to_string(images_.dims[2]) + " from " + source_ + ", resized to " +
           std::to_string(resolution_) + "x" + std::to_string(resolution_) + ", " +
           std::to_string(num_classes_) + " classes";
  }

 private:
  IdxArray images_, labels_;
  std::string source_;
  int resolution_, num_classes_;
  std::vector<std::string> class_names_;
};

}  // namespace

IdxArray read_idx_ubyte(const std::string& path, int expected_dims) {
  const std::vector<std::uint8_t> bytes = read_maybe_gzip(path);
  const std::uint32_t expected_magic = 0x00000800u | static_cast<std::uint32_t>(expected_dims);
  if (bytes.size() < 4) {
    throw Error("'" + path + "': truncated: " + std::to_string(bytes.size()) +
                " bytes, too short for an IDX header");
  }
  const std::uint32_t magic = big_endian(bytes.data());
  if (magic != expected_magic) {
    char text[64];
    std::snprintf(text, sizeof(text), "magic number 0x%08x, expected 0x%08x", magic,
                  expected_magic);
    throw Error("'" + path + "': not an IDX file of unsigned bytes with " +
                std::to_string(expected_dims) + " dimension" + (expected_dims == 1 ? "" : "s") +
                " (" + text + ")");
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(expected_dims);
  if (bytes.size() < header) {
    throw Error("'" + path + "': truncated inside the header");
  }
  IdxArray array;
  std::size_t count = 1;
  for (int d = 0; d < expected_dims; ++d) {
    array.dims.push_back(big_endian(bytes.data() + 4 + 4 * d));
    count *= array.dims.back();
  }
  const std::size_t have = bytes.size() - header;
  if (have < count) {
    throw Error("'" + path + "': truncated: the header promises " + std::to_string(count) +
                " bytes of data, the file has " + std::to_string(have));
  }
  if (have > count) {
    throw Error("'" + path + "': " + std::to_string(have - count) +
                " bytes after the data the header describes (corrupt file?)");
  }
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return array;
}

std::unique_ptr<Dataset> open_idx_dataset(const std::string& images_path,
                                          const std::string& labels_path, int resolution,
                                          int num_classes, std::vector<std::string> class_names) {
  IdxArray images = read_idx_ubyte(images_path, 3);
  IdxArray labels = read_idx_ubyte(labels_path, 1);
  if (images.dims[0] != labels.dims[0]) {
    throw Error("'" + images_path + "' has " + std::to_string(images.dims[0]) + " images but '" +
                labels_path + "' has " + std::to_string(labels.dims[0]) + " labels");
  }
  if (images.dims[0] == 0 || images.dims[1] == 0 || images.dims[2] == 0) {
    throw Error("'" + images_path + "': no images");
  }
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= num_classes) {
      throw Error("'" + labels_path + "': label " + std::to_string(labels.data[i]) +
                  " of example " + std::to_string(i) + " is outside [0, " +
                  std::to_string(num_classes) + ")");
    }
  }
  return std::make_unique<IdxDataset>(std::move(images), std::move(labels), images_path, resolution,
                                      num_classes, std::move(class_names));
}

IdxFiles find_idx_files(const std::string& folder, const std::string& split) {
  if (split != "train" && split != "test") {
    throw Error("data.split '" + split + "' is not known; valid: train, test");
  }
  const std::string prefix = split == "train" ? "train" : "t10k";
  auto pick = [&](const std::string& stem) {
    const std::string plain = folder + "/" + stem;
    if (std::filesystem::is_regular_file(plain)) return plain;
    if (std::filesystem::is_regular_file(plain + ".gz")) return plain + ".gz";
    throw Error("'" + folder + "': neither " + stem + " nor " + stem +
                ".gz is there (is data.path an MNIST-layout folder?)");
  };
  return {pick(prefix + "-images-idx3-ubyte"), pick(prefix + "-labels-idx1-ubyte")};
}

}  // namespace noisesched

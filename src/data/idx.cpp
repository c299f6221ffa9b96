// IDX reading and the in-memory IDX data set (see idx.h).
#include "noisesched/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "noisesched/common/error.h"
#include "noisesched/data/image_ops.h"
#include "noisesched/data/limits.h"

namespace noisesched {
namespace {

std::uint32_t big_endian(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

struct IdxHeader {
  std::vector<std::uint32_t> dims;
  std::uint64_t count = 0;  // data bytes the header promises
  std::size_t bytes = 0;    // header bytes
};

// Validates the magic number and the sizes (overflow and kMaxIdxBytes) of the header at the start
// of `bytes`; needs only the header.
IdxHeader parse_header(const std::uint8_t* bytes, std::size_t size, int expected_dims,
                       const std::string& name) {
  const std::uint32_t expected_magic = 0x00000800u | static_cast<std::uint32_t>(expected_dims);
  if (size < 4) {
    throw Error("'" + name + "': truncated: " + std::to_string(size) +
                " bytes, too short for an IDX header");
  }
  const std::uint32_t magic = big_endian(bytes);
  if (magic != expected_magic) {
    char text[64];
    std::snprintf(text, sizeof(text), "magic number 0x%08x, expected 0x%08x", magic,
                  expected_magic);
    throw Error("'" + name + "': not an IDX file of unsigned bytes with " +
                std::to_string(expected_dims) + " dimension" + (expected_dims == 1 ? "" : "s") +
                " (" + text + ")");
  }
  IdxHeader header;
  header.bytes = 4 + 4 * static_cast<std::size_t>(expected_dims);
  if (size < header.bytes) throw Error("'" + name + "': truncated inside the header");
  header.count = 1;
  for (int d = 0; d < expected_dims; ++d) {
    const std::uint32_t dim = big_endian(bytes + 4 + 4 * d);
    header.dims.push_back(dim);
    if (d > 0 && dim > kMaxImageSide) {
      throw Error("'" + name + "': dimension " + std::to_string(d) + " is " + std::to_string(dim) +
                  ", over the limit of " + std::to_string(kMaxImageSide) + " pixels per side");
    }
    if (__builtin_mul_overflow(header.count, std::uint64_t{dim}, &header.count) ||
        header.count > kMaxIdxBytes) {
      throw Error("'" + name + "': the header's sizes claim more than " +
                  std::to_string(kMaxIdxBytes >> 30) +
                  " GiB of data, the limit (corrupt file, or not an IDX file?)");
    }
  }
  return header;
}

// The data after the header must be exactly what the header promises.
void check_data_size(const IdxHeader& header, std::size_t size, const std::string& name) {
  const std::size_t have = size - header.bytes;
  if (have < header.count) {
    throw Error("'" + name + "': truncated: the header promises " + std::to_string(header.count) +
                " bytes of data, the file has " + std::to_string(have));
  }
  if (have > header.count) {
    throw Error("'" + name + "': more data than the header describes (" +
                std::to_string(header.count) + " bytes; corrupt file?)");
  }
}

struct GzClose {
  void operator()(gzFile_s* file) const { gzclose(file); }
};

// Reads a plain or gzip file, but never more than the header promises plus one byte, into a buffer
// that grows to at most that size (so a gzip bomb or a hostile header cannot make it allocate
// beyond kMaxIdxBytes).
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path, int expected_dims) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error("'" + path + "': no such file");
  }
  // gzopen reads gzip streams and passes plain files through unchanged.
  std::unique_ptr<gzFile_s, GzClose> file(gzopen(path.c_str(), "rb"));
  if (file == nullptr) throw Error("'" + path + "': cannot open");
  const auto corrupt = [&] {
    int code = 0;
    return Error("'" + path + "': corrupt or truncated gzip data (" + gzerror(file.get(), &code) +
                 ")");
  };
  std::vector<std::uint8_t> bytes;
  // Reads until `limit` bytes are held or the stream ends.
  auto read_up_to = [&](std::uint64_t limit) {
    while (bytes.size() < limit) {
      const std::size_t old = bytes.size();
      const std::size_t chunk =
          static_cast<std::size_t>(std::min<std::uint64_t>(limit - old, 1u << 20));
      if (bytes.capacity() < old + chunk) {
        bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(
            limit, std::max<std::uint64_t>(2 * bytes.capacity(), old + chunk))));
      }
      bytes.resize(old + chunk);
      const int n = gzread(file.get(), bytes.data() + old, static_cast<unsigned>(chunk));
      if (n < 0) throw corrupt();
      bytes.resize(old + static_cast<std::size_t>(n));
      if (n == 0) break;
    }
  };
  read_up_to(4 + 4 * static_cast<std::uint64_t>(expected_dims));
  const IdxHeader header = parse_header(bytes.data(), bytes.size(), expected_dims, path);
  read_up_to(header.bytes + header.count + 1);
  // A gzip stream cut short reads as a clean end of file; gzclose reports it. Stopping early on
  // over-long data is no error here (the parser reports the extra bytes).
  int code = 0;
  const std::string message = gzerror(file.get(), &code);
  const bool short_read = bytes.size() <= header.bytes + header.count;
  if (gzclose(file.release()) != Z_OK || (short_read && code != Z_OK)) {
    throw Error("'" + path + "': corrupt or truncated gzip data (" + message + ")");
  }
  return bytes;
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
  std::vector<std::uint8_t> bytes = read_maybe_gzip(path, expected_dims);
  const IdxHeader header = parse_header(bytes.data(), bytes.size(), expected_dims, path);
  check_data_size(header, bytes.size(), path);
  // The header is dropped in place: no second copy of the data.
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header.bytes));
  return {header.dims, std::move(bytes)};
}

IdxArray parse_idx_ubyte(const std::uint8_t* bytes, std::size_t size, int expected_dims,
                         const std::string& name) {
  const IdxHeader header = parse_header(bytes, size, expected_dims, name);
  check_data_size(header, size, name);
  return {header.dims, std::vector<std::uint8_t>(bytes + header.bytes, bytes + size)};
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

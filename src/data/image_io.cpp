// PNG output and image grids (see image_io.h).
#include "noisesched/data/image_io.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/data/image_ops.h"
#include "noisesched/data/limits.h"

namespace noisesched {

void write_png(const std::string& path, const ImageCHW& image) {
  if (image.channels != 1 && image.channels != 3) {
    throw Error("write_png '" + path + "': " + std::to_string(image.channels) +
                " channels; expected 1 or 3");
  }
  const std::size_t plane = static_cast<std::size_t>(image.height) * image.width;
  if (image.pixels.size() != plane * image.channels || plane == 0) {
    throw Error("write_png '" + path + "': pixel buffer does not match " +
                std::to_string(image.channels) + "x" + std::to_string(image.height) + "x" +
                std::to_string(image.width));
  }
  std::vector<std::uint8_t> hwc(image.pixels.size());
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < image.channels; ++c)
      hwc[i * image.channels + c] = image.pixels[c * plane + i];
  }
  std::vector<std::uint8_t> encoded;
  const int ok = stbi_write_png_to_func(
      [](void* context, void* data, int size) {
        auto* out = static_cast<std::vector<std::uint8_t>*>(context);
        out->insert(out->end(), static_cast<std::uint8_t*>(data),
                    static_cast<std::uint8_t*>(data) + size);
      },
      &encoded, image.width, image.height, image.channels, hwc.data(),
      image.width * image.channels);
  if (!ok) throw Error("write_png '" + path + "': PNG encoding failed");
  write_file_atomically(
      path, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

void check_image_size(std::int64_t width, std::int64_t height, const std::string& name) {
  const auto limit = static_cast<std::int64_t>(kMaxImageSide);
  if (width < 1 || height < 1 || width > limit || height > limit) {
    throw Error("'" + name + "': the image is " + std::to_string(width) + "x" +
                std::to_string(height) + " pixels; each side must lie in [1, " +
                std::to_string(limit) + "]");
  }
  if (static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) > kMaxImagePixels) {
    throw Error("'" + name + "': the image is " + std::to_string(width) + "x" +
                std::to_string(height) + " pixels; at most " + std::to_string(kMaxImagePixels) +
                " pixels (8192 x 8192) are read");
  }
}

namespace {

// PNG and JPEG only, told apart by their signatures: stb_image also decodes BMP, GIF, PSD, TGA,
// HDR, PIC and PNM, formats this program does not promise to read, so those decoders are never
// reached. JPEG goes to libjpeg-turbo (stb_image's JPEG decoder writes out of bounds on crafted
// Huffman tables: found by fuzzing, fuzz/corpus/image/crash-jpeg-huffman-overflow).
enum class ImageFormat { kUnknown, kPng, kJpeg };

ImageFormat image_format(const std::uint8_t* bytes, std::size_t size) {
  static const std::uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::equal(png, png + 8, bytes)) return ImageFormat::kPng;
  if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) {
    return ImageFormat::kJpeg;
  }
  return ImageFormat::kUnknown;
}

const char* kNotAnImage = "not a PNG or JPEG file (its first bytes are neither signature)";

// A libjpeg-turbo decompressor, destroyed on every path.
class JpegDecoder {
 public:
  explicit JpegDecoder(const std::string& name) : name_(name), handle_(tjInitDecompress()) {
    if (handle_ == nullptr) throw Error("'" + name_ + "': cannot start the JPEG decoder");
  }
  ~JpegDecoder() { tjDestroy(handle_); }
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  struct Header {
    int width = 0, height = 0, colorspace = 0;
  };
  Header header(const std::uint8_t* bytes, std::size_t size) {
    Header h;
    int subsampling = 0;
    if (tjDecompressHeader3(handle_, bytes, size, &h.width, &h.height, &subsampling,
                            &h.colorspace) != 0) {
      throw failure("not a readable JPEG image");
    }
    return h;
  }

  // Decodes to `channels` (1 or 3); CMYK and YCCK images are converted to RGB or grey.
  ImageHWC decode(const std::uint8_t* bytes, std::size_t size, int channels) {
    const Header h = header(bytes, size);
    check_image_size(h.width, h.height, name_);
    const bool cmyk = h.colorspace == TJCS_CMYK || h.colorspace == TJCS_YCCK;
    const int format = cmyk ? TJPF_CMYK : channels == 1 ? TJPF_GRAY : TJPF_RGB;
    const int depth = cmyk ? 4 : channels;
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(h.width) * h.height * depth);
    // Warnings (a stream cut short, extraneous bytes) still give an image, as browsers show one
    // (TurboJPEG reports an error after a warning as a warning too, so such a file may decode
    // partly: the pixels are always initialised, never out of bounds). TJFLAG_LIMITSCANS refuses
    // progressive files with more than 500 scans, which would take minutes to decode.
    if (tjDecompress2(handle_, bytes, size, pixels.data(), h.width, 0, h.height, format,
                      TJFLAG_LIMITSCANS) != 0 &&
        tjGetErrorCode(handle_) != TJERR_WARNING) {
      throw failure("cannot decode JPEG image");
    }
    ImageHWC image{channels, h.height, h.width, {}};
    if (!cmyk) {
      image.pixels = std::move(pixels);
      return image;
    }
    // Adobe's inverted CMYK, as libjpeg returns it: R = C K / 255 and so on.
    const std::size_t count = static_cast<std::size_t>(h.width) * h.height;
    image.pixels.resize(count * channels);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint8_t* p = &pixels[4 * i];
      const int rgb[3] = {p[0] * p[3] / 255, p[1] * p[3] / 255, p[2] * p[3] / 255};
      if (channels == 3) {
        for (int c = 0; c < 3; ++c) image.pixels[3 * i + c] = static_cast<std::uint8_t>(rgb[c]);
      } else {
        image.pixels[i] =
            static_cast<std::uint8_t>((299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2] + 500) / 1000);
      }
    }
    return image;
  }

 private:
  Error failure(const std::string& what) const {
    return Error("'" + name_ + "': " + what + " (" + tjGetErrorStr2(handle_) + ")");
  }
  std::string name_;
  tjhandle handle_;
};

// The big-endian 32-bit number at `p` (PNG's lengths and sizes).
std::uint32_t big_endian(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// Checks the size in a PNG's IHDR chunk (bytes 16 to 23, big-endian) against the limits, before
// stb_image sees it (it refuses images over 2^30 bytes, but only as "unknown image type").
void check_png_header(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (size < 24) throw Error("'" + name + "': truncated PNG header");
  const std::uint32_t width = big_endian(bytes + 16), height = big_endian(bytes + 20);
  check_image_size(width, height, name);
}

// stb_image inflates a PNG's IDAT data into a buffer that doubles up to 4 GiB whatever the header
// says, so a small file of highly compressed data (a decompression bomb) could make it allocate
// gigabytes. This walks the chunks and inflates the IDAT data with zlib into a small scratch
// buffer, counting, and refuses more than the header's image needs (one filter byte per row,
// twice that for Adam7 interlacing). Malformed files are left for stb to report.
void check_png_data_size(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (size < 33) return;
  const std::uint64_t width = big_endian(bytes + 16), height = big_endian(bytes + 20);
  const int depth = bytes[24], color = bytes[25], interlace = bytes[28];
  const int samples = color == 0   ? 1
                      : color == 2 ? 3
                      : color == 3 ? 1
                      : color == 4 ? 2
                      : color == 6 ? 4
                                   : 0;
  if (samples == 0 || depth < 1 || depth > 16) return;
  const std::uint64_t row = (width * samples * depth + 7) / 8;
  const std::uint64_t limit = (interlace ? 2 : 1) * height * (1 + row) + 1024;
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return;
  std::uint8_t scratch[1 << 16];
  std::uint64_t produced = 0;
  bool ended = false;
  for (std::size_t at = 8; !ended && at + 8 <= size;) {
    const std::uint64_t length = big_endian(bytes + at);
    const bool idat = std::equal(bytes + at + 4, bytes + at + 8, "IDAT");
    if (at + 12 + length > size) break;
    if (idat) {
      stream.next_in = const_cast<std::uint8_t*>(bytes + at + 8);
      stream.avail_in = static_cast<uInt>(length);
      while (stream.avail_in > 0 && !ended) {
        stream.next_out = scratch;
        stream.avail_out = sizeof(scratch);
        const int rc = inflate(&stream, Z_NO_FLUSH);
        produced += sizeof(scratch) - stream.avail_out;
        if (produced > limit) {
          inflateEnd(&stream);
          throw Error("'" + name + "': the PNG's compressed data inflates to more than its " +
                      std::to_string(width) + "x" + std::to_string(height) +
                      " header needs (a decompression bomb?)");
        }
        ended = rc != Z_OK;  // the end of the stream, or an error stb will report
      }
    }
    at += 12 + length;
  }
  inflateEnd(&stream);
}

ImageHWC decode_png(const std::uint8_t* bytes, std::size_t size, int channels,
                    const std::string& name) {
  check_png_header(bytes, size, name);
  check_png_data_size(bytes, size, name);
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error("'" + name + "': " + std::to_string(size) +
                " bytes, over the 2 GiB a PNG may have");
  }
  const int length = static_cast<int>(size);
  int width = 0, height = 0, found = 0;
  if (!stbi_info_from_memory(bytes, length, &width, &height, &found)) {
    throw Error("'" + name + "': not a readable PNG image (" + stbi_failure_reason() + ")");
  }
  check_image_size(width, height, name);
  unsigned char* pixels = stbi_load_from_memory(bytes, length, &width, &height, &found, channels);
  if (pixels == nullptr) {
    throw Error("'" + name + "': cannot decode PNG image (" + stbi_failure_reason() + ")");
  }
  ImageHWC image{channels, height, width, {}};
  image.pixels.assign(pixels, pixels + static_cast<std::size_t>(channels) * width * height);
  stbi_image_free(pixels);
  return image;
}

}  // namespace

std::string probe_image_file(const std::string& path) {
  // A JPEG's header (up to its frame marker) normally sits in the first few KiB; when 16 KiB do
  // not hold it (a large EXIF block, say), up to 4 MiB are read, never the whole of a big file.
  constexpr std::size_t kHead = 16 << 10, kMaxHead = 4 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) return "'" + path + "': cannot open (" + std::strerror(errno) + ")";
  std::string head(kHead, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(head.data());
  try {
    switch (image_format(bytes, head.size())) {
      case ImageFormat::kUnknown:
        return "'" + path + "': " + kNotAnImage;
      case ImageFormat::kPng: {
        check_png_header(bytes, head.size(), path);
        int width = 0, height = 0, found = 0;
        if (!stbi_info_from_memory(bytes, static_cast<int>(head.size()), &width, &height, &found)) {
          return "'" + path + "': not a readable PNG image (" + stbi_failure_reason() + ")";
        }
        check_image_size(width, height, path);
        return "";
      }
      case ImageFormat::kJpeg: {
        JpegDecoder decoder(path);
        JpegDecoder::Header h;
        try {
          h = decoder.header(bytes, head.size());
        } catch (const Error&) {
          if (head.size() < kHead) throw;
          head.resize(kMaxHead);
          in.read(head.data() + kHead, static_cast<std::streamsize>(kMaxHead - kHead));
          head.resize(kHead + static_cast<std::size_t>(in.gcount()));
          h = decoder.header(reinterpret_cast<const std::uint8_t*>(head.data()), head.size());
        }
        check_image_size(h.width, h.height, path);
        return "";
      }
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

ImageHWC decode_image(const std::uint8_t* bytes, std::size_t size, int channels,
                      const std::string& name) {
  if (channels != 1 && channels != 3) {
    throw Error("'" + name + "': cannot decode to " + std::to_string(channels) +
                " channels; expected 1 or 3");
  }
  switch (image_format(bytes, size)) {
    case ImageFormat::kPng:
      return decode_png(bytes, size, channels, name);
    case ImageFormat::kJpeg:
      return JpegDecoder(name).decode(bytes, size, channels);
    case ImageFormat::kUnknown:
      break;
  }
  throw Error("'" + name + "': " + kNotAnImage);
}

ImageCHW read_image(const std::string& path, int channels) {
  const std::string bytes = read_file(path, "image");
  const ImageHWC decoded = decode_image(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                        bytes.size(), channels, path);
  ImageCHW image{channels, decoded.height, decoded.width, {}};
  image.pixels.resize(decoded.pixels.size());
  hwc_to_chw(decoded.pixels.data(), decoded.width, decoded.height, channels, image.pixels.data());
  return image;
}

ImageCHW make_grid(const std::vector<ImageCHW>& images, int columns, int padding,
                   std::uint8_t background, int zoom) {
  if (images.empty()) throw Error("make_grid: no images");
  if (columns < 1 || zoom < 1 || padding < 0) throw Error("make_grid: bad layout");
  const int c = images[0].channels, h = images[0].height, w = images[0].width;
  for (const auto& image : images) {
    if (image.channels != c || image.height != h || image.width != w) {
      throw Error("make_grid: images differ in size");
    }
  }
  const int rows = (static_cast<int>(images.size()) + columns - 1) / columns;
  const int cell_h = h * zoom, cell_w = w * zoom;
  ImageCHW grid{c, padding + rows * (cell_h + padding), padding + columns * (cell_w + padding), {}};
  grid.pixels.assign(static_cast<std::size_t>(c) * grid.height * grid.width, background);
  for (std::size_t n = 0; n < images.size(); ++n) {
    const int top = padding + static_cast<int>(n / columns) * (cell_h + padding);
    const int left = padding + static_cast<int>(n % columns) * (cell_w + padding);
    for (int ch = 0; ch < c; ++ch) {
      for (int y = 0; y < cell_h; ++y) {
        for (int x = 0; x < cell_w; ++x) {
          grid.pixels[(static_cast<std::size_t>(ch) * grid.height + top + y) * grid.width + left +
                      x] =
              images[n].pixels[(static_cast<std::size_t>(ch) * h + y / zoom) * w + x / zoom];
        }
      }
    }
  }
  return grid;
}

}  // namespace noisesched

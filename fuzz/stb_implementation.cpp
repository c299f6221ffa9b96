// stb_image compiled into the fuzzers (instead of Debian's prebuilt libstb), so that libFuzzer sees
// coverage inside the PNG and JPEG decoders and the sanitizers check them.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>

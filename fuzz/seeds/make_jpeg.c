// Writes the JPEG seeds of the image fuzz target (run by fuzz/seeds/make_seeds.py).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
int main(int argc, char** argv) {
  unsigned char px[12*10*3];
  for (int i = 0; i < 12*10*3; ++i) px[i] = (unsigned char)(i * 7);
  stbi_write_jpg(argv[1], 12, 10, 3, px, 80);
  stbi_write_jpg(argv[2], 12, 10, 1, px, 50);
  return 0;
}

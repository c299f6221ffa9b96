// toml++'s implementation, compiled once into the program (the headers are Debian's
// libtomlplusplus-dev; every other file includes them with TOML_HEADER_ONLY=0, see
// src/CMakeLists.txt), so that no separately built C++ library is loaded for it.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>

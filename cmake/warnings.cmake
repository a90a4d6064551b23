# Warnings for fieldgate's own targets (never for third-party headers).
add_library(fg_warnings INTERFACE)
target_compile_options(fg_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough
  # Packet structs have default member initialisers and are meant to be
  # initialised in part, e.g. mqtt::Puback{id}.
  -Wno-missing-field-initializers
  # GCC 12 reports std::string concatenation as overlapping memcpy (GCC bug 105651).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

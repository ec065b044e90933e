# Compiler flags, sanitizers, and the fast tools (ccache, mold) when they are installed.

# -Wnull-dereference is left out: at -O2 it fires inside Boost.Asio's scheduler (false positives).
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)

# -O2 rather than CMake's default -O3: g++ 12 at -O3 reports false -Wrestrict / -Wmaybe-uninitialized
# inside libstdc++'s std::string (GCC bug 105329).
set(CMAKE_CXX_FLAGS_RELEASE "-O2 -DNDEBUG" CACHE STRING "" FORCE)
if(TOCSIN_WERROR)
  add_compile_options(-Werror)
endif()

if(TOCSIN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# The libFuzzer build (bench/fuzz/run, docs/fuzzing.md): clang 16 or newer; every library is
# compiled with coverage instrumentation, ASan and UBSan, and only the fuzz/ targets are built.
option(TOCSIN_FUZZ "Build the fuzz targets as libFuzzer binaries (clang 16+, ASan + UBSan)" OFF)
if(TOCSIN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
    message(FATAL_ERROR "TOCSIN_FUZZ needs clang 16 or newer (e.g. -DCMAKE_CXX_COMPILER=clang++-16)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
    # libstdc++ 12 offers std::expected only when __cpp_concepts >= 202002L, which clang reports
    # from version 19; clang 16 implements what <expected> needs (P0848) all the same. Clang 14
    # does not, whatever the macro says (tried: "attempt to use a deleted function").
    add_compile_options(-D__cpp_concepts=202002L -Wno-macro-redefined -Wno-builtin-macro-redefined)
  endif()
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  # A fresh clone in another directory still hits the cache (see scripts/build).
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

find_program(MOLD_PROGRAM mold)
if(MOLD_PROGRAM)
  add_link_options(-fuse-ld=mold)
endif()

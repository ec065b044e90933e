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

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  # A fresh clone in another directory still hits the cache (see scripts/build).
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

find_program(MOLD_PROGRAM mold)
if(MOLD_PROGRAM)
  add_link_options(-fuse-ld=mold)
endif()

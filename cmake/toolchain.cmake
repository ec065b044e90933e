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

# Sanitizer builds (scripts/test runs both, docs/development.md#sanitizers). A report fails the
# test: UBSan does not recover, ASan and TSan exit non-zero (TSan's halt_on_error is set in the
# environment tests/CMakeLists.txt and scripts/test give the tests).
string(TOLOWER "${TOCSIN_SANITIZE}" tocsin_sanitize)
set(TOCSIN_SANITIZER "")  # address, thread or empty
if(tocsin_sanitize STREQUAL "thread")
  set(TOCSIN_SANITIZER thread)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # TSan does not model stand-alone fences (g++ says so: -Wtsan, an error here), and Boost.Asio
  # brackets handlers it runs inline with them. Asio's own switch replaces those with no-ops, which
  # is what TSan makes of them anyway; its locks and atomics, which TSan does see, stay.
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
  # TSan slows everything down several times over; only the unit tests of the layers where
  # threads meet are built and run under it (the e2e selection is in tests/CMakeLists.txt):
  #   core          SystemClock's timer thread, the metrics registry's atomics, the rate limiter
  #   http          the Beast server's io threads, concurrent clients, connection limit, shutdown
  #   store_sqlite  two threads writing at once, and the WAL checkpointer thread
  #   tsdb          the series store's lock and the sample log's file lock and counters
  #   collect       the collector against a test target answering on its own thread
  #   notify        the HTTP sender (curl) against a receiver thread
  #   action        the action runner's webhook and command actions, results seen from the test
  #   oncall        the time zone cache, loaded from several threads
  #   risk          naive Bayes training, which splits its rows over two threads
  #   engine        the engine's lock, deliveries and actions outside it, receivers on threads
  #   server        StepLoop: woken from many threads, its timers firing on the clock's thread
  set(TOCSIN_UNIT_TEST_LAYERS core http store_sqlite tsdb collect notify action oncall risk engine server)
elseif(tocsin_sanitize MATCHES "^(address|on|true|yes|1)$")
  set(TOCSIN_SANITIZER address)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(NOT tocsin_sanitize MATCHES "^(off|false|no|0|)$")
  message(FATAL_ERROR "TOCSIN_SANITIZE must be OFF, ON, address or thread, got '${TOCSIN_SANITIZE}'")
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

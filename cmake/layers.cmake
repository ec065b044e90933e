# One static library per layer. A layer links only the layers below it, and its include root is
# src/, so `#include "core/clock.h"` works everywhere while an upward dependency fails to link.
#
#   tocsin_layer(NAME core SOURCES a.cc b.cc DEPS fmt::fmt)
#   tocsin_layer_test(NAME core SOURCES a_test.cc DEPS ...)

function(tocsin_layer)
  cmake_parse_arguments(L "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(tocsin_${L_NAME} STATIC ${L_SOURCES})
  target_include_directories(tocsin_${L_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tocsin_${L_NAME} PUBLIC ${L_DEPS})
endfunction()

function(tocsin_layer_test)
  cmake_parse_arguments(L "" "NAME" "SOURCES;DEPS" ${ARGN})
  if(NOT TOCSIN_BUILD_TESTS)
    return()
  endif()
  # The ThreadSanitizer build runs a chosen subset (cmake/toolchain.cmake).
  if(DEFINED TOCSIN_UNIT_TEST_LAYERS AND NOT L_NAME IN_LIST TOCSIN_UNIT_TEST_LAYERS)
    return()
  endif()
  add_executable(tocsin_${L_NAME}_test ${L_SOURCES})
  target_link_libraries(tocsin_${L_NAME}_test PRIVATE tocsin_${L_NAME} ${L_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(tocsin_${L_NAME}_test DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

# alpaserve_layer(<target> GLOBS <patterns...> [EXCLUDE <regex>] DEPS <targets...>)
# One static library per layer folder, built from every source file matching the globs, so that
# adding a file to a layer needs no CMake edit. A layer with no sources yet is an INTERFACE target.
# EXCLUDE drops matching files (sources that need an optional dependency, e.g. NCCL).
function(alpaserve_layer target)
  cmake_parse_arguments(L "" "EXCLUDE" "GLOBS;DEPS" ${ARGN})
  set(sources)
  foreach(pattern IN LISTS L_GLOBS)
    file(GLOB found CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${pattern})
    list(APPEND sources ${found})
  endforeach()
  if(L_EXCLUDE AND sources)
    list(FILTER sources EXCLUDE REGEX "${L_EXCLUDE}")
  endif()
  if(sources)
    add_library(${target} STATIC ${sources})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${L_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${L_DEPS})
  endif()
endfunction()

# alpaserve_test_binary(<name> GLOBS <patterns...> [EXCLUDE <regex>] DEPS <targets...>)
# One Catch2 executable per test folder; each TEST_CASE becomes its own CTest test.
# EXCLUDE drops matching files (e.g. GPU tests that build into their own binary).
function(alpaserve_test_binary name)
  cmake_parse_arguments(T "" "EXCLUDE" "GLOBS;DEPS" ${ARGN})
  set(sources)
  foreach(pattern IN LISTS T_GLOBS)
    file(GLOB found CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${pattern})
    list(APPEND sources ${found})
  endforeach()
  if(T_EXCLUDE AND sources)
    list(FILTER sources EXCLUDE REGEX "${T_EXCLUDE}")
  endif()
  if(NOT sources)
    return()
  endif()
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE ${T_DEPS} Catch2::Catch2WithMain)
  target_compile_definitions(${name} PRIVATE
    ALPASERVE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    ALPASERVE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # -w NoTests: a CTest entry whose name matches no test case fails instead of passing empty.
  catch_discover_tests(${name} TEST_PREFIX "${name}: " EXTRA_ARGS -w NoTests
    PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endfunction()

// The simulation loops built with AVX-512 (planner/CMakeLists.txt adds the flags on x86-64); run
// only where the CPU has it (planner/sim/component_kernel.cpp checks). See
// planner/sim/component_kernel_loops.hpp.
#define ALPASERVE_KERNEL_NS kernel_avx512
#include "planner/sim/component_kernel_loops.hpp"

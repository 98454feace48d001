// The simulation loops built for any x86-64 (SSE2); see planner/component_kernel_loops.hpp.
#define ALPASERVE_KERNEL_NS kernel_portable
#include "planner/component_kernel_loops.hpp"

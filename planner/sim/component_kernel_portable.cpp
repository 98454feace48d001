// The simulation loops built for any x86-64 (SSE2); see planner/sim/component_kernel_loops.hpp.
#define ALPASERVE_KERNEL_NS kernel_portable
#include "planner/sim/component_kernel_loops.hpp"

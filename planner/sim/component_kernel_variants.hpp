#pragma once
// The two builds of the simulation loops (planner/sim/component_kernel_loops.hpp) and which one
// runs. planner/sim/component_kernel.cpp dispatches to one of them; tests and benchmarks can force
// either.

#include <cstddef>
#include <cstdint>
#include <string>

#include "planner/sim/component_kernel.hpp"

namespace alpaserve::planner {

enum class kernel_isa {
  portable,  // SSE2, any x86-64 (or plain C++ elsewhere)
  avx512,    // AVX-512 F/VL/DQ/BW: opmask acceptance and masked clock commits
};

// The build in use: avx512 when the CPU has it, unless ALPASERVE_KERNEL=portable is set in the
// environment or force_kernel_isa() chose otherwise.
[[nodiscard]] kernel_isa active_kernel_isa();
[[nodiscard]] std::string kernel_isa_name(kernel_isa isa);
// Whether this CPU (and this build) can run `isa`.
[[nodiscard]] bool kernel_isa_supported(kernel_isa isa);
// Selects the build for all later calls (std::invalid_argument when not supported). Not
// synchronised with concurrent simulations: call it before starting them.
void force_kernel_isa(kernel_isa isa);

namespace kernel_portable {
void run_component(component_lane& lane, int pp, const int32_t* index, uint8_t* good,
                   double* finish);
void run_components(component_lane* const* lanes, size_t count, int pp, bool record);
}  // namespace kernel_portable

namespace kernel_avx512 {
void run_component(component_lane& lane, int pp, const int32_t* index, uint8_t* good,
                   double* finish);
void run_components(component_lane* const* lanes, size_t count, int pp, bool record);
}  // namespace kernel_avx512

}  // namespace alpaserve::planner

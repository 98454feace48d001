#pragma once
// The reference's hard-coded test profiles (load_test_prof_result in alpa_serve/profiling.py;
// ../shared/reference/alpaserve.md section 1.2): batch size 1 only, V100-class numbers.
// Names: "alpa/bert-1.3b", "alpa/bert-2.6b", "test-2GB-100ms", "test-4GB-150ms".
// Used by the runtime's tests and the demo cluster where a config names one of them as a type.

#include "planner/profile.hpp"

namespace alpaserve::planner {

[[nodiscard]] const profile_db& reference_test_profiles();

}  // namespace alpaserve::planner

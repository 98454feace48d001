#pragma once
// The reference's hard-coded test profiles (load_test_prof_result; ../shared/reference/
// alpaserve.md section 1.2), exactly: batch size 1 only, GB = 2^30 bytes, no activation memory.

#include "planner/profile/profile.hpp"

namespace alpaserve::planner {

// Models "alpa/bert-1.3b", "alpa/bert-2.6b", "test-2GB-100ms", "test-4GB-150ms".
[[nodiscard]] profile_db reference_test_profiles();

}  // namespace alpaserve::planner

#include "tools/cli_inputs.hpp"

#include "planner/core/input_error.hpp"
#include "planner/profile/device_model.hpp"
#include "planner/profile/profile_io.hpp"
#include "planner/profile/reference_profiles.hpp"
#include "planner/profile/zoo_profiles.hpp"

namespace alpaserve::tools {

planner::profile_db load_profiles(const std::string& spec) {
  constexpr std::string_view zoo_prefix = "zoo:";
  if (spec.compare(0, zoo_prefix.size(), zoo_prefix) == 0) {
    const std::string device = spec.substr(zoo_prefix.size());
    try {
      return planner::zoo_profile_db(planner::device_preset(device));
    } catch (const planner::input_error& e) {
      throw planner::input_error(spec, "--profiles", e.problem());
    }
  }
  if (spec == "reference") return planner::reference_test_profiles();
  return planner::read_profile_db(spec);
}

}  // namespace alpaserve::tools

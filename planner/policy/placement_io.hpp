#pragma once
// The placement file (JSON) read by `alpaserve simulate` and written by `alpaserve plan`: the
// cluster, the models (each bound to a profile of the profile database) and the groups, or a
// time-segmented sequence of group lists (Clockwork++). Format: docs/placement-format.md.

#include <string>
#include <variant>
#include <vector>

#include "planner/policy/placement.hpp"
#include "planner/profile/profile.hpp"

namespace alpaserve::planner {

struct placement_file {
  cluster_env cluster;
  std::vector<model_data> models;  // model ids in the placement index this list
  // A single placement ("groups") or one per time segment ("segments").
  std::variant<placement, placement_with_replacement> layout;

  [[nodiscard]] bool segmented() const noexcept {
    return std::holds_alternative<placement_with_replacement>(layout);
  }
};

// Reads and validates a placement file. Each model's profile is looked up in `profiles` by its
// "profile" name (default: the model name); "slo_scale" multiplies the profile's single-device
// latency. Throws input_error(path, where, problem): where is "line N" for malformed JSON, else
// a key path such as "groups[2].models[1]".
[[nodiscard]] placement_file read_placement_file(const std::string& path,
                                                 const profile_db& profiles);
// The same from text; `file` names the source in errors.
[[nodiscard]] placement_file parse_placement_json(const std::string& text,
                                                  const profile_db& profiles,
                                                  const std::string& file = "<string>");

// Writes the file with absolute SLOs; "profile" is written when it differs from the name.
// Throws std::runtime_error when the file cannot be written.
void write_placement_file(const std::string& path, const placement_file& f);
[[nodiscard]] std::string placement_json(const placement_file& f);

}  // namespace alpaserve::planner

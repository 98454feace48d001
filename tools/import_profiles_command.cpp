// `alpaserve import-profiles`: convert the reference's profiling CSV (tab separated) into our JSON
// profile database, optionally merging into an existing one (docs/profiles.md).

#include <spdlog/spdlog.h>

#include "planner/profile/profile_io.hpp"
#include "tools/command_registry.hpp"

namespace alpaserve::tools {
namespace {

struct import_options {
  std::vector<std::string> csv;
  std::string out;
  std::string merge;
};

int run_import(const import_options& o) {
  planner::profile_db db;
  if (!o.merge.empty()) db = planner::read_profile_db(o.merge);
  for (const auto& f : o.csv) {
    const planner::reference_csv_import r = planner::import_reference_csv(f, db);
    // Allowed (the reference's synthetic profiles have none); the profile then records no
    // activation memory for those batch sizes, which only matters to readers of act_mem outside
    // this project: policies, simulators and the runtime use weights only (docs/profiles.md).
    if (r.rows_without_act_mem > 0)
      spdlog::warn(
          "{}: {} of {} rows have no activation memory (no StagePeakMem(B) column, or \"TODO\" or "
          "empty there); imported without act_mem for those batch sizes",
          f, r.rows_without_act_mem, r.rows);
  }
  planner::write_profile_db(db, o.out);
  spdlog::info("wrote {} model profiles to {}", db.size(), o.out);
  return 0;
}

void add_import(CLI::App& app, run_fn& run) {
  auto opts = std::make_shared<import_options>();
  auto* sub = app.add_subcommand("import-profiles",
                                 "Convert the reference's tab-separated profiling results to JSON");
  sub->add_option("--csv", opts->csv, "reference profiling CSV (tab separated); repeatable")
      ->required();
  sub->add_option("--out", opts->out, "profile database to write (JSON)")->required();
  sub->add_option("--merge", opts->merge,
                  "existing profile database (JSON) to merge the rows into (reference rule: a "
                  "batch size is replaced only by a faster result)");
  sub->callback([opts, &run] { run = [opts] { return run_import(*opts); }; });
}

const command_registration registration{"import-profiles", 41, &add_import};

}  // namespace
}  // namespace alpaserve::tools

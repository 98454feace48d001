// `alpaserve submit --model M`: send requests to a running cluster and print each reply.

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "net/tensor_wire.hpp"
#include "planner/core/input_error.hpp"
#include "tools/cli_checks.hpp"
#include "tools/command_registry.hpp"
#include "tools/endpoint_options.hpp"

namespace alpaserve::tools {
namespace {

struct submit_args {
  endpoint_options endpoint;
  std::string model;
  std::vector<int64_t> shape = {1, 16};
  std::string payload_file;
  double slo_ms = 0;
  int count = 1;
  bool print_result = false;
};

// "result [1, 8]: v0 v1 ..." for an f32 result (every value, round-trip precision).
std::string result_values(const std::string& bytes) {
  std::string problem;
  const auto t = net::decode_tensor(bytes, &problem);
  if (!t) return "result not decodable: " + problem;
  if (t->dtype != "f32") return "result of dtype " + t->dtype;
  std::string out = fmt::format("result [{}]:", fmt::join(t->shape, ", "));
  for (size_t i = 0; i + 4 <= t->data.size(); i += 4) {
    float v;
    std::memcpy(&v, t->data.data() + i, 4);
    out += fmt::format(" {:.9g}", v);
  }
  return out;
}

int run_submit(const submit_args& a) {
  std::string payload;
  if (!a.payload_file.empty()) {
    std::ifstream in(a.payload_file, std::ios::binary);
    if (!in) throw planner::input_error(a.payload_file, "--payload-file", "cannot be read");
    std::ostringstream ss;
    ss << in.rdbuf();
    payload = ss.str();  // sent as is: the cluster validates it
  } else {
    size_t n = 1;
    for (int64_t d : a.shape) {
      if (d < 0) throw planner::input_error("<command line>", "--shape", "negative dimension");
      n *= static_cast<size_t>(d);
    }
    std::vector<float> data(n);
    // Small integers: valid token ids for real models (emulated stages ignore the values).
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<float>((i * 7 + 3) % 100);
    payload = net::encode_f32(a.shape, data.data());
  }
  net::client c(a.endpoint.client());
  int worst = 0;
  for (int i = 0; i < a.count; ++i) {
    const auto r = c.submit(a.model, payload, a.slo_ms / 1e3);
    const auto& rep = r.reply;
    double stage_sum = 0;
    for (double s : rep.stage_run_s) stage_sum += s;
    std::cout << fmt::format("request {}: {} in {:.2f} ms", rep.request_id,
                             net::to_string(rep.status), r.e2e_s * 1e3);
    if (rep.status == net::reply_status::ok) {
      std::cout << fmt::format(
          " (group {}, stages {:.2f} ms, predicted {:.2f} ms, result {} bytes)", rep.group,
          stage_sum * 1e3, rep.predicted_s * 1e3, rep.result.size());
      if (a.print_result) std::cout << "\n" << result_values(rep.result);
    } else {
      std::cout << ": " << rep.message;
    }
    std::cout << "\n";
    const int code = rep.status == net::reply_status::ok ? 0
                     : net::is_rejection(rep.status)     ? 4
                                                         : 5;
    worst = std::max(worst, code);
  }
  return worst;
}

void add_submit(CLI::App& app, run_fn& run) {
  auto args = std::make_shared<submit_args>();
  auto* sub = app.add_subcommand(
      "submit",
      "Send requests to a running cluster and print each reply. Exit code: 0 all ok, 4 some "
      "rejected, 5 some failed.");
  args->endpoint.add_to(sub);
  sub->add_option("--model", args->model, "model name")->required();
  sub->add_option("--shape", args->shape, "shape of the generated f32 input tensor")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--payload-file", args->payload_file,
                  "send this file's bytes as the payload (msgpack [dtype, shape, bin])");
  sub->add_option("--slo-ms", args->slo_ms,
                  "SLO for these requests in ms, finite and > 0 (default: the model's)")
      ->check(finite_positive);
  sub->add_option("-n,--count", args->count, "number of requests, one after another")
      ->check(at_least_one)
      ->capture_default_str();
  sub->add_flag("--print-result", args->print_result,
                "print every value of each ok reply's f32 result tensor");
  sub->callback([&run, args] { run = [args] { return run_submit(*args); }; });
}

const command_registration registration{"submit", 60, &add_submit};

}  // namespace
}  // namespace alpaserve::tools

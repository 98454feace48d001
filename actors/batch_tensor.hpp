#pragma once
// A batch travels the pipeline as one tensor: the group manager concatenates its requests' input
// tensors along dimension 0 before stage 0 and splits the last stage's output along dimension 0
// into each request's rows (docs/runtime.md "Batching"). No CAF here.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace alpaserve::actors {

// What must be equal for two inputs to be concatenated: dtype and shape without dimension 0
// ("f32[128]"). Empty when the payload is no tensor of rank >= 1 (such a request runs alone).
[[nodiscard]] std::string batch_key(std::string_view payload);

// Rows (dimension 0) of a wire tensor; 0 when it is not one of rank >= 1.
[[nodiscard]] int64_t batch_rows(std::string_view payload);

// The inputs (equal batch_key) as one wire tensor, concatenated along dimension 0. Returns empty
// and sets *error when they cannot be concatenated.
[[nodiscard]] std::string concat_batch(const std::vector<std::string_view>& payloads,
                                       std::string* error);

// The batch's output split into consecutive pieces of rows[i] rows along dimension 0. Returns an
// empty vector and sets *error when the output is no tensor or its dimension 0 differs from the
// sum of rows.
[[nodiscard]] std::vector<std::string> split_batch(std::string_view output,
                                                   const std::vector<int64_t>& rows,
                                                   std::string* error);

}  // namespace alpaserve::actors

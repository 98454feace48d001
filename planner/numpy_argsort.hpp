#pragma once
// numpy.argsort(a) with the default kind ("quicksort") as NumPy implemented it when the reference
// ran (before the AVX-512 argsort of NumPy 1.25): introsort on an index array, median-of-three
// partitioning, insertion sort for partitions of at most 17 elements, heapsort once the depth
// limit 2*floor(log2(n)) is exhausted. Ties are NOT stable for larger arrays; the reference's
// greedy placement depends on exactly how they fall, so we reproduce the algorithm, not a
// stable sort (../shared/reference/alpaserve.md section 5.1).

#include <cstdint>
#include <vector>

namespace alpaserve::planner {

// Indices that sort `values` ascending, in numpy's order.
[[nodiscard]] std::vector<int> numpy_argsort(const std::vector<double>& values);
[[nodiscard]] std::vector<int> numpy_argsort(const std::vector<int64_t>& values);

// numpy.argsort(values)[::-1]: descending, ties in the reverse of numpy's ascending order.
[[nodiscard]] std::vector<int> numpy_argsort_descending(const std::vector<double>& values);

}  // namespace alpaserve::planner

#pragma once
// numpy.argsort(a) with the default kind ("quicksort") as NumPy implemented it when the reference
// ran (NumPy <= 1.24; 1.25 added an AVX-512 argsort for 64-bit keys, 2.0 an AVX2 one):
// introsort on an index array, median-of-three partitioning, insertion sort for partitions of
// at most 16 elements, heapsort once the depth limit 2*floor(log2(n)) is exhausted. Ties are
// NOT stable for larger arrays; the reference's greedy placement depends on exactly how they
// fall, so we reproduce the algorithm, not a stable sort (../shared/reference/alpaserve.md
// section 5.1; checked index for index against NumPy 1.24 by tests/planner/numpy_argsort_test).

#include <cstdint>
#include <vector>

namespace alpaserve::planner {

// Indices that sort `values` ascending, in numpy's order.
[[nodiscard]] std::vector<int> numpy_argsort(const std::vector<double>& values);
[[nodiscard]] std::vector<int> numpy_argsort(const std::vector<int64_t>& values);

// numpy.argsort(values)[::-1]: descending, ties in the reverse of numpy's ascending order.
[[nodiscard]] std::vector<int> numpy_argsort_descending(const std::vector<double>& values);

}  // namespace alpaserve::planner

#include "planner/core/numpy_argsort.hpp"

#include <algorithm>
#include <cmath>

namespace alpaserve::planner {
namespace {

// numpy's "less" for floats puts NaN last; integers compare plainly.
inline bool less(double a, double b) noexcept {
  return a < b || (b != b && a == a);
}
inline bool less(int64_t a, int64_t b) noexcept {
  return a < b;
}

// numpy's SMALL_QUICKSORT (npysort/quicksort.cpp): partitions with pr - pl <= 15, i.e. of at
// most 16 elements, are insertion sorted.
constexpr std::ptrdiff_t small_quicksort = 15;

int most_significant_bit(std::ptrdiff_t n) noexcept {
  int depth = 0;
  while (n >>= 1) ++depth;
  return depth;
}

template <class T>
void heap_argsort(const T* v, int* tosort, std::ptrdiff_t n) {
  int* a = tosort - 1;  // 1-based heap indexing
  for (std::ptrdiff_t l = n >> 1; l > 0; --l) {
    const int tmp = a[l];
    std::ptrdiff_t i = l;
    for (std::ptrdiff_t j = l << 1; j <= n;) {
      if (j < n && less(v[a[j]], v[a[j + 1]])) j += 1;
      if (less(v[tmp], v[a[j]])) {
        a[i] = a[j];
        i = j;
        j += j;
      } else {
        break;
      }
    }
    a[i] = tmp;
  }
  for (; n > 1;) {
    const int tmp = a[n];
    a[n] = a[1];
    n -= 1;
    std::ptrdiff_t i = 1;
    for (std::ptrdiff_t j = 2; j <= n;) {
      if (j < n && less(v[a[j]], v[a[j + 1]])) j++;
      if (less(v[tmp], v[a[j]])) {
        a[i] = a[j];
        i = j;
        j += j;
      } else {
        break;
      }
    }
    a[i] = tmp;
  }
}

template <class T>
std::vector<int> argsort_impl(const std::vector<T>& values) {
  const std::ptrdiff_t num = static_cast<std::ptrdiff_t>(values.size());
  std::vector<int> order(values.size());
  for (std::ptrdiff_t i = 0; i < num; ++i) order[i] = static_cast<int>(i);
  if (num < 2) return order;
  const T* v = values.data();
  int* pl = order.data();
  int* pr = order.data() + num - 1;
  std::vector<int*> stack;
  std::vector<int> depth_stack;
  int cdepth = most_significant_bit(num) * 2;
  for (;;) {
    if (cdepth < 0) {
      heap_argsort(v, pl, pr - pl + 1);
    } else {
      while ((pr - pl) > small_quicksort) {
        int* pm = pl + ((pr - pl) >> 1);
        if (less(v[*pm], v[*pl])) std::swap(*pm, *pl);
        if (less(v[*pr], v[*pm])) std::swap(*pr, *pm);
        if (less(v[*pm], v[*pl])) std::swap(*pm, *pl);
        const T vp = v[*pm];
        int* pi = pl;
        int* pj = pr - 1;
        std::swap(*pm, *pj);
        for (;;) {
          do ++pi;
          while (less(v[*pi], vp));
          do --pj;
          while (less(vp, v[*pj]));
          if (pi >= pj) break;
          std::swap(*pi, *pj);
        }
        int* pk = pr - 1;
        std::swap(*pi, *pk);
        // Push the larger partition, continue with the smaller one.
        if (pi - pl < pr - pi) {
          stack.push_back(pi + 1);
          stack.push_back(pr);
          pr = pi - 1;
        } else {
          stack.push_back(pl);
          stack.push_back(pi - 1);
          pl = pi + 1;
        }
        depth_stack.push_back(--cdepth);
      }
      for (int* pi = pl + 1; pi <= pr; ++pi) {
        const int vi = *pi;
        const T vp = v[vi];
        int* pj = pi;
        int* pk = pi - 1;
        while (pj > pl && less(vp, v[*pk])) *pj-- = *pk--;
        *pj = vi;
      }
    }
    if (stack.empty()) break;
    pr = stack.back();
    stack.pop_back();
    pl = stack.back();
    stack.pop_back();
    cdepth = depth_stack.back();
    depth_stack.pop_back();
  }
  return order;
}

}  // namespace

std::vector<int> numpy_argsort(const std::vector<double>& values) {
  return argsort_impl(values);
}
std::vector<int> numpy_argsort(const std::vector<int64_t>& values) {
  return argsort_impl(values);
}

std::vector<int> numpy_argsort_descending(const std::vector<double>& values) {
  std::vector<int> order = argsort_impl(values);
  std::reverse(order.begin(), order.end());
  return order;
}

}  // namespace alpaserve::planner

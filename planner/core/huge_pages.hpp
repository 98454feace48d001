#pragma once
// Fresh large arrays on transparent huge pages. A simulation's per-request result (9 bytes per
// request) is written once, right after allocation; with 4 KiB pages its first-touch faults cost
// about as much as the simulation itself. numpy asks for huge pages on every allocation of
// >= 4 MiB (so the reference's fresh outputs get them); this is the same advice for ours.

#include <cstddef>
#include <vector>

namespace alpaserve::planner {

// madvise(MADV_HUGEPAGE) on the whole pages inside [p, p + bytes) when bytes >= 4 MiB; a no-op
// elsewhere, off Linux, or when the kernel refuses (the memory is then on normal pages).
void advise_huge_pages(void* p, size_t bytes) noexcept;

// v.resize(n), but when v must grow its old contents are dropped and the new buffer is advised
// before it is first touched. For arrays that are about to be overwritten whole.
template <class T>
void resize_for_overwrite(std::vector<T>& v, size_t n) {
  if (v.capacity() < n) {
    std::vector<T>().swap(v);
    v.reserve(n);
    advise_huge_pages(v.data(), n * sizeof(T));
  }
  v.resize(n);
}

}  // namespace alpaserve::planner

#include "kernels/cuda_device.hpp"

#include <cuda_runtime_api.h>

namespace alpaserve::kernels {

int cuda_device_count() noexcept {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    // 35 (insufficient driver: no driver at all) and 100 (no device) mean "no GPU here".
    (void)cudaGetLastError();  // clear the sticky error state
    return 0;
  }
  return n;
}

}  // namespace alpaserve::kernels

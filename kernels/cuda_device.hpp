#pragma once
// GPU discovery, available in every build.

namespace alpaserve::kernels {

// Number of usable CUDA devices; 0 in a build without CUDA or when there is no driver/GPU
// (cudaGetDeviceCount errors 35 and 100 mean "none", never a failure).
[[nodiscard]] int cuda_device_count() noexcept;

}  // namespace alpaserve::kernels

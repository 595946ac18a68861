#pragma once
// The compute devices this process can use, as the runtime reports them (CLI `vhmn info --devices`,
// the app's Device lists), and a GPU's caching-allocator figures for live display.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vhmn {

/// One compute device.
struct DeviceInfo {
    std::string type;          ///< "cpu" or "cuda"
    int index = -1;            ///< CUDA ordinal; −1 for the CPU
    std::string name;          ///< the CPU model or the GPU's name
    int64_t memory_bytes = 0;  ///< host memory (CPU) or the GPU's memory
    /// What --device takes: "cpu" or "cuda:N".
    std::string id() const;
    /// For a list: "cpu" or "cuda:N — NAME, X GiB".
    std::string label() const;
};

struct DeviceList {
    std::vector<DeviceInfo> devices;  ///< the CPU first, then each visible CUDA device
    bool cuda_build = false;          ///< this libtorch has CUDA
    std::string torch_version;
    /// Why only the CPU is listed ("no CUDA in this build", "no GPU visible"); empty when a GPU is.
    std::string cpu_only_reason;
    /// {"devices": [{"type", "index", "name", "memory_bytes"}…], "torch_version", "cuda", and
    /// "cpu_only_reason" when there is one}.
    nlohmann::json to_json() const;
};

/// The devices of this process, asked of the runtime each call (cheap: no CUDA context is made
/// when the build has no CUDA or no GPU is visible).
DeviceList list_devices();

/// The CUDA caching allocator's figures for one GPU (bytes). `valid` false on any other device
/// or in a build without CUDA.
struct GpuMemory {
    bool valid = false;
    int64_t allocated = 0, reserved = 0, peak_allocated = 0, peak_reserved = 0;
};
GpuMemory gpu_memory(int cuda_index);
/// Start the peak figures afresh (a new training run).
void reset_gpu_peaks(int cuda_index);

/// The peak a device computes at for a precision, for model-FLOPs utilisation, with how it was
/// derived. CPU (and the emulated device, which computes on it): the larger of threads × clock ×
/// FP32 FLOP per cycle of the widest vector FMA the CPU executes at full rate (2 FMA pipes assumed;
/// AMD's AVX-512 on 256-bit pipes) and a measured fp32 GEMM (2048², best of three; ~0.5 s). CUDA:
/// the GPU's dense peak for bf16, TF32 or FP32 from a table of known GPUs (H100/H200, A100, L40S);
/// 0 when unknown (basis says so).
struct PeakFlops {
    double flops = 0;   ///< FLOP/s; 0 when not known
    std::string basis;  ///< e.g. "2 threads × 2.60 GHz × 32 FP32 FLOP/cycle (AVX2 …)"
};
PeakFlops peak_flops(const std::string& device, int threads, bool bf16, bool tf32);

}  // namespace vhmn

#pragma once
// Process-wide runtime settings: thread count and device choice.
#include <optional>
#include <string>
#include <utility>

#include <torch/torch.h>

namespace vhmn {

/// The process's allocation policy (set once at start-up by `vhmn`, `vhmn-studio` and the tests).
struct AllocatorPolicy {
    bool applied = false;      ///< false: glibc's defaults were kept ($VHMN_MALLOC=system)
    std::string description;   ///< one line for logs and benchmark output
};

/// Keep freed memory for reuse instead of returning every large tensor buffer to the system.
/// glibc serves blocks above its mmap threshold (128 KiB, rising only up to 32 MiB) with a fresh
/// mmap and gives them back with munmap on free, so every batch page-faults its tensors in again
/// (measured: 3/4 of `vhmn eval`'s time was system time). The policy serves blocks up to 1 GiB from
/// the heap and trims the heap top only beyond 512 MiB free, so a training or evaluation loop
/// reuses the same pages; memory stays bounded by the loop's peak (README, "Memory").
/// $VHMN_MALLOC=system keeps glibc's defaults (for before/after measurements). Idempotent.
AllocatorPolicy configure_allocator();

/// Give free heap memory back to the system (malloc_trim), e.g. when a long job ends in the app:
/// the policy above keeps memory for reuse inside a loop; between jobs nothing needs it.
void release_free_memory();

/// CPU time of this process so far, all threads: {user, system} seconds (getrusage).
std::pair<double, double> process_cpu_seconds();
/// Peak resident set size of this process so far, KiB.
long peak_rss_kib();

/// Set libtorch's intra-op thread count: `requested` if given, else $VHMN_THREADS, else the
/// number of available cores. Returns the count in use. (Debian's libtorch defaults to 1.)
int configure_threads(std::optional<int> requested = std::nullopt);

/// "cpu", "cuda" or "cuda:N"; throws ConfigError for others or when CUDA is unavailable.
torch::Device parse_device(const std::string& name);
bool cuda_available();

/// The name a user gives `device`: "cpu", "cuda:N", or "emulated" (core/emulated_device.h).
std::string device_name(const torch::Device& device);

/// TF32 in CUDA matrix products and cuDNN convolutions, process-wide (`--tf32 on|off`; on by
/// default). No effect on the CPU or on a GPU without TF32.
void set_tf32(bool on);
/// ConfigError unless `value` is "on" or "off".
bool parse_on_off(const std::string& flag, const std::string& value);
/// `text` as a whole integer (all of it: "12", "-1"); nullopt for anything else ("", "3x", "all").
std::optional<int64_t> parse_integer(const std::string& text);
/// What a run on `device` computes in: "fp32" on the CPU (bf16 and TF32 are CUDA's); on CUDA
/// "bf16 autocast" or "fp32", with ", TF32 matmuls" when `tf32` and the GPU has it.
std::string precision_name(const torch::Device& device, bool bf16, bool tf32);

/// `t` on `device`. A host tensor bound for a GPU is copied from pinned memory without waiting
/// (non_blocking), so the copy makes no host synchronisation; otherwise a plain .to(device).
torch::Tensor to_device(const torch::Tensor& t, const torch::Device& device);

/// A seed derived from (seed, a, stream) with good mixing: the trainer reseeds each epoch from
/// (seed, epoch, stream), so a resumed run replays exactly; probes seed each corruption condition.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t stream);

}  // namespace vhmn

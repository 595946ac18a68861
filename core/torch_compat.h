#pragma once
// Every difference between the libtorch versions we build against lives here: Debian's 1.13 (CPU)
// and PyTorch's 2.x wheels (CUDA; the supported range is stated in cmake/VhmnDependencies.cmake).
// VHMN_TORCH_CUDA is defined by the build when the libtorch found has CUDA (torch_cuda).
#include <ATen/Context.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/autocast_mode.h>
#include <c10/util/Exception.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <cstdint>
#include <string>
#include <utility>

#ifdef VHMN_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace vhmn::compat {

#define VHMN_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

/// Whether this libtorch was built with CUDA (its CUDA libraries are linked in).
#ifdef VHMN_TORCH_CUDA
inline constexpr bool kBuiltWithCuda = true;
#else
inline constexpr bool kBuiltWithCuda = false;
#endif

/// c10::Allocator (core/emulated_device.cpp): allocate() is const in 1.13 and not in 2.x, where
/// copy_data() is also pure virtual (both changed in 2.3; built and checked with 1.13 and 2.11).
#if VHMN_TORCH_AT_LEAST(2, 3)
#define VHMN_ALLOCATE_CONST
#define VHMN_ALLOCATOR_COPY_DATA \
    void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#else
#define VHMN_ALLOCATE_CONST const
#define VHMN_ALLOCATOR_COPY_DATA
#endif

/// ts[i] *= scale for a 0-dim tensor `scale` on their device: one multi-tensor operator from 2.1,
/// one operator per tensor before (no host read either way).
inline void foreach_mul_by_tensor(at::TensorList ts, const at::Tensor& scale) {
#if VHMN_TORCH_AT_LEAST(2, 1)
    at::_foreach_mul_(ts, scale);
#else
    for (const auto& t : ts) const_cast<at::Tensor&>(t).mul_(scale.to(t.scalar_type()));
#endif
}

/// Turn bf16 autocast for CUDA on or off (the API changed in 2.4).
inline void set_cuda_autocast_bf16(bool on) {
#if VHMN_TORCH_AT_LEAST(2, 4)
    if (on) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
    if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(on);
#endif
    if (!on) at::autocast::clear_cache();
}

/// The key of a parameter in Optimizer::state(): its TensorImpl's address as a string in 1.13
/// (c10::guts::to_string), the address itself in 2.x. (A wrong guess does not compile.)
#if VHMN_TORCH_AT_LEAST(2, 0)
inline void* optimizer_state_key(const at::Tensor& p) { return p.unsafeGetTensorImpl(); }
#else
inline std::string optimizer_state_key(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }
#endif

/// Turn bf16 autocast for the CPU on or off (tests of the bf16 path where no GPU is).
inline void set_cpu_autocast_bf16(bool on) {
#if VHMN_TORCH_AT_LEAST(2, 4)
    if (on) at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, on);
#else
    if (on) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(on);
#endif
    if (!on) at::autocast::clear_cache();
}

/// bf16 autocast for tensors on `device` (CUDA or the CPU) for the duration of a scope.
class AutocastBf16 {
public:
    explicit AutocastBf16(const c10::Device& device) : cuda_(device.is_cuda()) {
        TORCH_CHECK(device.is_cuda() || device.is_cpu(), "bf16 autocast: no autocast for ", device);
        cuda_ ? set_cuda_autocast_bf16(true) : set_cpu_autocast_bf16(true);
    }
    ~AutocastBf16() { cuda_ ? set_cuda_autocast_bf16(false) : set_cpu_autocast_bf16(false); }
    AutocastBf16(const AutocastBf16&) = delete;
    AutocastBf16& operator=(const AutocastBf16&) = delete;

private:
    bool cuda_;
};

/// bf16 autocast on CUDA for the duration of a scope (nothing when `on` is false).
class CudaAutocastBf16 {
public:
    explicit CudaAutocastBf16(bool on) : on_(on) {
        if (on_) set_cuda_autocast_bf16(true);
    }
    ~CudaAutocastBf16() {
        if (on_) set_cuda_autocast_bf16(false);
    }
    CudaAutocastBf16(const CudaAutocastBf16&) = delete;
    CudaAutocastBf16& operator=(const CudaAutocastBf16&) = delete;

private:
    bool on_;
};

/// Allow or forbid TF32 in CUDA matrix products and cuDNN convolutions (these setters exist in every
/// supported version; 2.9+ also offers per-backend precisions).
inline void set_cuda_tf32(bool allow) {
    at::globalContext().setAllowTF32CuBLAS(allow);
    at::globalContext().setAllowTF32CuDNN(allow);
}

/// Whether CUDA device `index` has TF32 tensor cores (compute capability 8.0 or later); false in a
/// build without CUDA.
inline bool cuda_has_tf32(int index) {
#ifdef VHMN_TORCH_CUDA
    int major = 0;
    return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, index) == cudaSuccess && major >= 8;
#else
    (void)index;
    return false;
#endif
}

/// CUDA device `index`'s name and memory into `name` and `bytes`; false (nothing set) in a build
/// without CUDA or when the runtime cannot tell.
inline bool cuda_device_info(int index, std::string& name, int64_t& bytes) {
#ifdef VHMN_TORCH_CUDA
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return false;
    name = prop.name;
    bytes = int64_t(prop.totalGlobalMem);
    return true;
#else
    (void)index, (void)name, (void)bytes;
    return false;
#endif
}

/// The CUDA caching allocator's current and peak allocated and reserved bytes on GPU `index`
/// (aggregate pools); false in a build without CUDA. DeviceStats moved to c10/core in 2.6; the
/// c10::cuda name stays.
inline bool cuda_memory_stats(int index, int64_t& allocated, int64_t& reserved, int64_t& peak_allocated,
                              int64_t& peak_reserved) {
#ifdef VHMN_TORCH_CUDA
    if (index < 0 || index >= int(c10::cuda::device_count())) return false;
    const auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(c10::DeviceIndex(index));
    constexpr size_t kAggregate = 0;  // StatType::AGGREGATE
    allocated = s.allocated_bytes[kAggregate].current, peak_allocated = s.allocated_bytes[kAggregate].peak;
    reserved = s.reserved_bytes[kAggregate].current, peak_reserved = s.reserved_bytes[kAggregate].peak;
    return true;
#else
    (void)index, (void)allocated, (void)reserved, (void)peak_allocated, (void)peak_reserved;
    return false;
#endif
}

inline void cuda_reset_peak_memory(int index) {
#ifdef VHMN_TORCH_CUDA
    if (index >= 0 && index < int(c10::cuda::device_count()))
        c10::cuda::CUDACachingAllocator::resetPeakStats(c10::DeviceIndex(index));
#else
    (void)index;
#endif
}

/// CUDA's synchronisation debug mode: 0 off, 1 warn, 2 throw on every host synchronisation.
/// Returns false (and does nothing) when this libtorch has no CUDA.
inline bool set_cuda_sync_debug(int level) {
#ifdef VHMN_TORCH_CUDA
    using M = c10::cuda::SyncDebugMode;
    c10::cuda::warning_state().set_sync_debug_mode(level == 0 ? M::L_DISABLED : level == 1 ? M::L_WARN : M::L_ERROR);
    return true;
#else
    (void)level;
    return false;
#endif
}

/// Counts libtorch warnings (this thread's) whose text contains `needle` while alive; it replaces
/// the warning handler and restores the previous one. The handler interface changed in 2.0.
class WarningCounter : public c10::WarningHandler {
public:
    explicit WarningCounter(std::string needle) : needle_(std::move(needle)) {
#if VHMN_TORCH_AT_LEAST(2, 0)
        previous_ = c10::WarningUtils::get_warning_handler();
        c10::WarningUtils::set_warning_handler(this);
#else
        previous_ = c10::Warning::get_warning_handler();
        c10::Warning::set_warning_handler(this);
#endif
    }
    ~WarningCounter() override {
#if VHMN_TORCH_AT_LEAST(2, 0)
        c10::WarningUtils::set_warning_handler(previous_);
#else
        c10::Warning::set_warning_handler(previous_);
#endif
    }
    WarningCounter(const WarningCounter&) = delete;
    WarningCounter& operator=(const WarningCounter&) = delete;
    int64_t count() const { return count_; }

#if VHMN_TORCH_AT_LEAST(2, 0)
    void process(const c10::Warning& w) override { note(w.msg()); }
#else
    void process(const c10::SourceLocation&, const std::string& msg, const bool) override { note(msg); }
#endif

private:
    void note(const std::string& msg) {
        if (msg.find(needle_) != std::string::npos) ++count_;
    }
    std::string needle_;
    c10::WarningHandler* previous_ = nullptr;
    int64_t count_ = 0;
};


}  // namespace vhmn::compat

// ---------------------------------------------------------------------------------------------
// c10d (torch.distributed's C++ engine), for the one file that uses it (core/train/distributed.cpp
// defines VHMN_COMPAT_C10D before including this header). In 1.13 the backends (Gloo, NCCL) are
// ProcessGroups themselves; from 2.0 they derive from c10d::Backend, to which a ProcessGroup
// dispatches. We hold the backend and call its collectives directly: the same calls in both.
// VHMN_WITH_GLOO is defined by the build when gloo's headers (libgloo-dev) were found.
#ifdef VHMN_COMPAT_C10D
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef VHMN_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(VHMN_TORCH_CUDA) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define VHMN_WITH_NCCL 1
#endif

namespace vhmn::compat {
#if VHMN_TORCH_AT_LEAST(2, 0)
using DistBackend = c10d::Backend;
#else
using DistBackend = c10d::ProcessGroup;
#endif
}  // namespace vhmn::compat
#endif  // VHMN_COMPAT_C10D

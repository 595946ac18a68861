#pragma once
// An emulated accelerator for machines without a GPU (tests, CI, `--device emulated`).
//
// Tensors on it live in host memory and every operation runs libtorch's CPU kernels, but, like
// CUDA, it refuses an operation that mixes its tensors with CPU tensors: a host-made index, mask or
// constant used against device data is the classic crash of a first GPU run, and here it throws
//   "device mixing: aten::index_select got a CPU tensor (argument 'index') with tensors on the
//    emulated device"
// on any machine (operators built on TensorIterator throw libtorch's own message first, "Expected
// all tensors to be on the same device", as on CUDA). Allowed, as on CUDA: copies between the two (to(), copy_()), 0-dim CPU tensors
// (scalars) and CPU index tensors in advanced indexing (x[idx], index_put_).
//
// It proves device discipline, not CUDA numerics: the arithmetic is the CPU's, and code that reads
// device memory through data_ptr() on the host would pass here and fail on a GPU. Code that
// branches on `device.is_cuda()` (autocast, pinned copies, sync checks) takes its non-CUDA branch;
// code that branches on `is_cpu()` takes its device branch.
//
// It occupies libtorch's XPU device slot (neither Debian's libtorch nor PyTorch's CUDA wheels have
// XPU kernels), so it prints as "xpu:0"; users name it "emulated".
#include <map>
#include <string>

#include <torch/torch.h>

namespace vhmn {

/// The emulated device (registered with libtorch when a program that links it starts, before any
/// backward pass; thread-safe, idempotent).
torch::Device emulated_device();

/// True for the emulated device (once registered).
bool is_emulated(const torch::Device& device);

/// Whether backward passes run on it: in a build without CUDA. libtorch 2.x's autograd engine,
/// built with CUDA, asks CUDA for the stream of every accelerator tensor it accumulates, which
/// fails where no GPU driver is (and is not to be trusted where one is); forward-only work
/// (evaluation, probes, the inspector) runs in every build.
bool emulated_backward_works();

/// Operations the emulated device has run through its CPU fallback so far (all threads).
int64_t emulated_ops();

/// Of those, the ones that would run a kernel on a GPU (views and allocations left out): what a
/// training step launches, counted without one.
int64_t emulated_kernel_ops();

/// The same, per operator name.
std::map<std::string, int64_t> emulated_kernel_ops_by_name();

}  // namespace vhmn

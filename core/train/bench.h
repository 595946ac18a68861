#pragma once
// Throughput benchmark: images/s of training steps (the trainer's own step: augmentation, forward,
// backward, optimizer, bank commit) and of inference, on random images; and the number of ATen
// operator calls one training step makes.
#include <map>
#include <string>

#include <torch/torch.h>

#include "core/models/config.h"
#include "core/train/trainer.h"

namespace vhmn {

struct BenchOptions {
    int64_t batch = 256, steps = 10;
    torch::Device device = torch::kCPU;
    bool bf16 = true;      ///< bf16 autocast on CUDA (as training by default)
    bool tf32 = true;      ///< TF32 matmuls on CUDA GPUs that have it (as training by default)
    AugmentFn augment;     ///< the training augmentation (empty: none — images as drawn, one-hot targets)
    bool count_ops = true;  ///< count the operator calls of one step (see BenchResult::ops_per_step)
    bool inference = true;  ///< also time inference (infer_img_per_s; 0 when not timed)
};

struct BenchResult {
    double train_img_per_s = 0;  ///< the trainer's step: augmentation + forward + backward + Adam + bank commit
    double infer_img_per_s = 0;  ///< eval mode, no gradients
    double train_step_ms = 0, infer_step_ms = 0;  ///< mean over the timed steps
    bool bf16 = false;  ///< bf16 autocast was on (CUDA)
    std::string precision;  ///< "fp32", "bf16 autocast, TF32 matmuls" …
    int64_t batch = 0, steps = 0;
    double train_user_s = 0, train_sys_s = 0;  ///< CPU time of all training steps (warm-up included)
    /// ATen operator calls of one training step (after two warm-up steps), counted on the emulated
    /// device (core/emulated_device.h), whose code path is the GPU's; −1 when not counted. A CUDA
    /// build cannot train there (emulated_backward_works()): it counts the dispatches and the
    /// nested calls on the benchmarked device and leaves ops_per_step −1.
    /// ops_per_step: the calls that run a device kernel — what a GPU launches, the launch overhead
    /// of a step (views and allocations left out; fp32, so no autocast casts);
    /// ops_top_level: every call the step makes from outside any operator (our code, and the
    /// autograd engine running backward nodes), views included: the dispatches;
    /// ops_all: with the calls operators make inside other operators (all the profiler records).
    int64_t ops_per_step = -1, ops_top_level = -1, ops_all = -1;
    std::string ops_device;  ///< where they were counted: "cuda:0", "emulated"
    std::map<std::string, int64_t> ops_by_name;  ///< that step's kernel calls per operator name
};

/// `steps` timed steps of each kind after 2 warm-up steps (banks are filled by the warm-up), timed
/// back to back between two synchronisations.
BenchResult benchmark(const ModelConfig& cfg, const BenchOptions& options);

}  // namespace vhmn

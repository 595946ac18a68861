#pragma once
// Throughput benchmark: images/s of training steps and of inference on random data.
#include <string>

#include <torch/torch.h>

#include "core/config.h"

namespace vhmn {

struct BenchResult {
    double train_img_per_s = 0;  ///< forward + backward + Adam step + bank commit
    double infer_img_per_s = 0;  ///< eval mode, no gradients
    double train_step_ms = 0, infer_step_ms = 0;  ///< mean over the timed steps
    bool bf16 = false;  ///< bf16 autocast was on (CUDA)
    int64_t batch = 0, steps = 0;
    double train_user_s = 0, train_sys_s = 0;  ///< CPU time of all training steps (warm-up included)
};

/// `steps` timed steps of each kind after 2 warm-up steps (banks are filled by the warm-up), timed
/// back to back between two synchronisations. `bf16`: autocast on CUDA (as training by default).
BenchResult benchmark(const ModelConfig& cfg, int64_t batch, int64_t steps, const torch::Device& device,
                      bool bf16 = true);

}  // namespace vhmn

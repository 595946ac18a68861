#pragma once
// Slot usage: how often each memory slot is a query's top-1 retrieval over a split. The ablation
// orders its masking by it (core/probes/ablation.h); the trainer's memory statistics (unused slots
// per epoch) read it too.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "core/probes/framework.h"

namespace vhmn {

/// How often each slot of each bank was a query's top-1 (local: one query per token).
struct SlotUsage {
    std::vector<torch::Tensor> top1;  ///< per bank, block-major, local then global: [K] int64 (CPU)
    int64_t images = 0;
    const torch::Tensor& of(int64_t block, Branch branch) const {
        return top1.at(bank_index(block, branch));
    }
};
/// Usage over `in.test` — pass the TRAINING split there (ablation orders must not peek at the test set).
SlotUsage slot_usage(ProbeInput& in, const ProbeControl& control = {});

}  // namespace vhmn

#pragma once
// Weights (Fig. 5): a probe (core/probes/framework.h).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/probes/framework.h"

namespace vhmn {

struct SlotWeights {
    int64_t block = 0;
    Branch branch = Branch::Global;
    torch::Tensor mean_alpha;          ///< [classes, K] float: mean α over each class's inputs
    std::vector<int64_t> class_count;  ///< test images per class
    std::vector<int64_t> slot_class;   ///< [K] class of the stored vector (−1: empty slot)
    std::vector<int64_t> top1_count;   ///< [K] how often each slot was a query's top-1
    int64_t queries = 0;               ///< queries counted (images, × tokens for local)
    int64_t filled = 0;                ///< filled slots
    double unused_fraction = 0;        ///< filled slots never top-1, / filled
    double mean_entropy = 0;           ///< mean entropy of α over all queries (nats)
};
SlotWeights probe_weights(ProbeInput& in, int64_t block, Branch branch, const ProbeControl& control = {});
/// Table: slot, slot_class, mean_alpha (for `cls`), top1_count, plus per-class mass in params.
ProbeResult weights_result(const SlotWeights& w, int64_t cls);

}  // namespace vhmn

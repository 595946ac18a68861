#pragma once
// Public read API for probes and the GUI: retrieval weights of any block/branch and the top-k slots
// with their weights and provenance.
#include <vector>

#include <torch/torch.h>

#include "core/models/vhmn.h"

namespace vhmn {

struct SlotHit {
    SlotProvenance provenance;  ///< slot id, class, source image, token cell, step
    double weight = 0.0;        ///< α of the slot
};

/// Retrieval weights of one block/branch for a batch x [B, C, H, W], computed without gradients
/// and without bank writes: local [B, N, K], global [B, K]. `step` picks the refinement step
/// (−1: the last one used; with T = 0 the weights the query would get).
torch::Tensor retrieval_weights(VHMN& model, const torch::Tensor& x, int64_t block, Branch branch,
                                int64_t step = -1);

/// The k largest weights of one query's α [K] (empty slots excluded), with provenance, highest first.
std::vector<SlotHit> top_slots(VHMN& model, int64_t block, Branch branch, const torch::Tensor& alpha,
                               int64_t k);

}  // namespace vhmn

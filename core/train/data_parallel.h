#pragma once
// Data-parallel training over a dist::Group (DESIGN: one model per rank, identical at every step).
// Each rank takes a contiguous slice of every global batch, computes the gradient of its loss sum ÷
// the global batch count, and the sums of those gradients over ranks (bucketed all-reduces) are the
// single-process gradient. Memory banks stay identical everywhere: every rank's staged writes are
// all-gathered in rank order and every rank applies the same class-balanced commit, so the bank
// sees exactly the writes (and order) one process with the whole batch would have made.
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "core/models/classifier.h"
#include "core/train/distributed.h"

namespace vhmn::dist {

/// Rank `rank`'s part [lo, hi) of a batch of `m` items split over `world` ranks: contiguous, in rank
/// order, sizes differing by at most one (equal when world divides m).
std::pair<int64_t, int64_t> rank_slice(int64_t m, int rank, int world);

class DataParallel {
public:
    /// `bucket_bytes`: gradients are summed in flat buckets of about this size (one collective each).
    DataParallel(Group& group, Model model, int64_t bucket_bytes = int64_t(25) << 20);

    Group& group() { return group_; }
    int rank() const { return group_.rank(); }
    int world() const { return group_.world(); }

    /// Make every rank's parameters and buffers (memory banks included) rank 0's.
    void broadcast_state();
    /// Sum the gradients over ranks in place. A parameter without a gradient (unused by the forward
    /// pass) keeps none, as in one process, and the optimizer skips it. `local_batch_empty`: this rank
    /// had no images this step (a last batch smaller than the world); its gradients count as zeros.
    void all_reduce_grads(bool local_batch_empty);
    /// Replace this rank's staged bank writes by every rank's, in rank order, for a global batch of
    /// `global_count` images written at `step`.
    void gather_bank_writes(int64_t global_count, int64_t step);

private:
    Group& group_;
    Model model_;
    std::vector<torch::Tensor> params_;
    std::vector<bool> in_use_;  // parameters with a gradient at the last step with data
    std::vector<std::pair<size_t, size_t>> buckets_;  // [first, last) parameter indices
};

}  // namespace vhmn::dist

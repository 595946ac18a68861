#pragma once
// Class-balanced ring-buffer memory bank (paper §3.2; DESIGN.md §2).
//
// K slots of dimension L split into `classes` equal regions of K/classes slots (slot j belongs to
// class j / per_class). Each class has a write cursor; a write goes to the cursor's slot and moves
// it on, so the oldest entry of that class is overwritten. Slots are buffers, not parameters:
// they receive no gradient and are saved with the model.
//
// Writes are *staged* during the training forward pass and applied by commit() after the
// optimizer step: the forward pass reads the bank, and changing it in place before backward
// would invalidate the autograd graph. In eval mode nothing is staged, so the bank is frozen.
// Placement runs on the bank's device: a training step's commit makes no host round trip.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "core/models/hopfield.h"

namespace vhmn {

/// Where a stored vector came from. Local slots record the token's grid cell; global slots −1.
struct SlotProvenance {
    int64_t slot = -1;
    int64_t label = -1;   ///< class of the source image (−1: empty slot)
    int64_t source = -1;  ///< dataset index of the source training image
    int64_t row = -1;     ///< token row in the patch grid (local banks)
    int64_t col = -1;     ///< token column
    int64_t step = -1;    ///< training step at which it was written
};

class MemoryBankImpl : public torch::nn::Module {
public:
    MemoryBankImpl(int64_t slots, int64_t dim, int64_t classes);

    int64_t slots() const { return slots_; }
    int64_t dim() const { return dim_; }
    int64_t classes() const { return classes_; }
    int64_t per_class() const { return per_class_; }
    /// Class that owns slot j.
    int64_t class_of_slot(int64_t j) const { return j / per_class_; }

    /// Stage writes (applied by commit()). vectors [n, L] (detached here), labels/sources/rows/cols
    /// [n] int64. Ignored in eval mode. Labels outside [0, classes) are an error.
    void stage(const torch::Tensor& vectors, const torch::Tensor& labels,
               const torch::Tensor& sources, const torch::Tensor& rows, const torch::Tensor& cols,
               int64_t step);
    /// Apply staged writes in the order they were staged. Returns the number of vectors stored.
    int64_t commit();
    /// commit() on each bank, with one ring-buffer placement for the banks of one shape whose
    /// staged labels are one tensor (the same memory) (a model's blocks: one batch's labels), computed for all of
    /// them at once: the same result, a fraction of the operator calls. Returns the vectors stored.
    static int64_t commit_all(const std::vector<MemoryBankImpl*>& banks);
    /// Drop staged writes (e.g. after a failed step).
    void discard_staged();
    /// Staged writes, concatenated in staging order.
    struct StagedWrites {
        torch::Tensor vectors;                      ///< [n, L]
        torch::Tensor labels, sources, rows, cols;  ///< [n] int64
        int64_t step = -1;
    };
    /// Remove the staged writes and return them (data-parallel training gathers every rank's and
    /// stages them all, in rank order). Undefined tensors when nothing is staged; the entries of
    /// one call share one step (a training step stages once per bank).
    StagedWrites take_staged();
    int64_t staged() const;

    /// The bank as read by retrieval; the normalised slots are cached until the bank changes.
    /// Slots masked by set_mask() are left out of its `valid` and `filled`.
    BankView view();

    /// Inference-time memory edit (counterfactuals, ablations): `masked` [K] bool marks slots that
    /// retrieval must ignore, as if they were empty (α = 0 on them, the rest renormalised; every
    /// slot masked: z = q). Not a buffer: never saved, never trained on (staging refuses while a
    /// mask is set). An undefined tensor clears it.
    void set_mask(const torch::Tensor& masked);
    const torch::Tensor& mask() const { return mask_; }
    bool has_mask() const { return mask_.defined(); }

    /// Number of filled slots (exact; on a GPU this may synchronise), per class filled counts.
    int64_t filled();
    /// Record the exact fill count read elsewhere (VHMNImpl::update_fill_counts: one read for all banks).
    void set_filled(int64_t count);
    std::vector<int64_t> filled_per_class();
    /// Provenance of the given slots (host copy).
    std::vector<SlotProvenance> provenance(const std::vector<int64_t>& slots);
    /// Forget every entry.
    void clear();
    /// Re-read host-side state (the fill count) after the buffers were replaced (load).
    void refresh();

    // Buffers (checkpoint keys: memory, valid, label, source, row, col, step, cursor).
    torch::Tensor memory;  // [K, L] float
    torch::Tensor valid;   // [K] bool
    torch::Tensor label;   // [K] int64
    torch::Tensor source;  // [K] int64
    torch::Tensor row;     // [K] int64
    torch::Tensor col;     // [K] int64
    torch::Tensor step;    // [K] int64
    torch::Tensor cursor;  // [classes] int64: next slot offset within each class region

private:
    /// The banks' single staged batch as one write (a commit of several staged batches concatenates them).
    struct Write {
        torch::Tensor vectors, labels, sources, rows, cols;
        int64_t step = -1;
    };
    Write staged_write();
    /// The similarity bias of BankView::logit_bias for these retrievable slots [K] bool.
    torch::Tensor logit_bias(const torch::Tensor& retrievable) const;
    /// Stores `w` where `written` [K] marks the slots it fills, slot j from write from[j]; then the
    /// class cursors become `cursor_after` [classes].
    void store(const Write& w, const torch::Tensor& written, const torch::Tensor& from, const torch::Tensor& cursor_after);
    /// store() for G banks of one shape at once, their buffers packed as [G, …] blocks of one
    /// storage each (packed here when they are not: after construction, a load or a move), and
    /// their normalised-slot caches made for all of them: a few kernels per group, not per bank.
    /// written, from [G, K]; cursor_after [G, classes].
    static void store_packed(const std::vector<MemoryBankImpl*>& banks, const std::vector<const Write*>& writes,
                             const torch::Tensor& written, const torch::Tensor& from, const torch::Tensor& cursor_after);
    /// After a commit: a new version and the fill count, `exact` when it was read (the CPU), or −1
    /// (a device, where reading it would synchronise: a lower bound is kept).
    void note_commit(int64_t exact);

    int64_t slots_, dim_, classes_, per_class_;
    struct Staged {
        torch::Tensor vectors, labels, sources, rows, cols;
        int64_t step;
    };
    std::vector<Staged> staged_;
    // Host state and cache, keyed on the buffers' storage so replacing them is noticed. filled_ is
    // exact when filled_exact_, else a lower bound ≥ 1 (after a commit on a GPU, before the next
    // logging step): retrieval then masks empty slots, which is right either way.
    const void* host_key_ = nullptr;
    int64_t filled_ = 0;
    bool filled_exact_ = true;
    uint64_t version_ = 0;
    uint64_t cache_version_ = ~uint64_t(0);
    const void* cache_key_ = nullptr;
    torch::Tensor memory_hat_, logit_bias_;  // logit_bias_: undefined while the bank is full
    // The mask and the retrievable slots it leaves (valid ∧ ¬mask, and their count), cached per
    // bank version like memory_hat_.
    torch::Tensor mask_, retrievable_, retrievable_bias_;
    int64_t retrievable_count_ = 0;
    uint64_t mask_version_ = ~uint64_t(0);
    const void* mask_key_ = nullptr;
};
TORCH_MODULE(MemoryBank);

}  // namespace vhmn

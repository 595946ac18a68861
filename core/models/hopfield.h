#pragma once
// Hopfield retrieval (paper Eq. 1–2) and iterative refinement (Eq. 4).
#include <vector>

#include <torch/torch.h>

namespace vhmn {

/// What a retrieval reads from a bank. `memory_hat` is `memory` with unit-norm rows (cached by the
/// bank while it does not change). `valid` marks filled slots; empty ones are masked out.
struct BankView {
    torch::Tensor memory;      // [K, L] unnormalised slots M
    torch::Tensor memory_hat;  // [K, L] rows M_j / ‖M_j‖
    torch::Tensor valid;       // [K] bool
    int64_t filled = 0;        // number of valid slots (host copy)
    /// [1, K] 0 on valid slots, −∞ on the others, added to the similarities (one kernel with the
    /// GEMM instead of a mask per retrieval); cached by the bank. Undefined: made from `valid`
    /// when needed (a full bank needs none).
    torch::Tensor logit_bias;
    int64_t slots() const { return memory.size(0); }
};

/// The similarity bias of a bank whose retrievable slots are `valid` [K] bool: [1, K], 0 on them,
/// −∞ elsewhere, with `options`' dtype.
torch::Tensor logit_bias_of(const torch::Tensor& valid, const torch::TensorOptions& options);

struct Retrieval {
    torch::Tensor alpha;  // [..., K]  softmax weights, Σ_j α_j = 1 (all zero for an empty bank)
    torch::Tensor m;      // [..., L]  retrieved prototype Σ_j α_j M_j (= z for an empty bank)
};

/// α = softmax(√L · ẑ·M̂ᵀ) over the valid slots, m = α·M.  z: [..., L].
/// `want_alpha` false: the caller reads only m, so outside autograd α is never stored whole (the
/// returned alpha is then undefined); a training forward pass keeps it for backward anyway.
Retrieval retrieve(const torch::Tensor& z, const BankView& bank, bool want_alpha = true);

/// Per-step record of a refinement, for probes and the GUI.
struct RefineTrace {
    std::vector<torch::Tensor> alpha;     // per step t: [..., K] weights used at step t
    std::vector<torch::Tensor> distance;  // per step t = 0..T: ‖z_t − q‖  [...]
};

/// z_0 = q; z_{t+1} = z_t + β (m(z_t) − z_t) for t < T.  T = 0 returns q.
/// With a trace, records α_t for t = 0..max(T,1)−1 (for T = 0 the weights q would get, unused).
torch::Tensor refine(const torch::Tensor& q, const BankView& bank, const torch::Tensor& beta,
                     int64_t iterations, RefineTrace* trace = nullptr);

/// Shannon entropy (nats) of weights along the last dim: −Σ α log α (0·log 0 = 0).
torch::Tensor entropy(const torch::Tensor& alpha);

}  // namespace vhmn

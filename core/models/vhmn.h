#pragma once
// The V-HMN classifier (paper §3, DESIGN.md §1); the shared stem and head are in classifier.h.
//
// Checkpoint keys follow the member names below, e.g. `blocks.0.local_memory.query.weight`,
// `blocks.0.local_memory.bank.memory`, `blocks.0.global_memory.beta`, `pool.score.weight`, `head.weight`.
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "core/models/config.h"
#include "core/models/hopfield.h"
#include "core/models/classifier.h"
#include "core/models/memory_bank.h"

namespace vhmn {

/// splitmix64's finaliser applied elementwise to an int64 tensor (wrapping arithmetic, logical
/// shifts), on the tensor's own device.
torch::Tensor mix64(const torch::Tensor& x);

/// Keys deciding which tokens of each image the local bank of block `block` stores: [B, N] int64 ≥ 0
/// on `indices`' device, a function of (seed, dataset index, block, token) alone, so CPU, CUDA and
/// several processes choose the same tokens whatever the batch. The `per_image` largest are written.
torch::Tensor write_token_keys(uint64_t seed, const torch::Tensor& indices, int64_t block, int64_t tokens);
/// The same for blocks 0 … depth−1 at once: [depth, B, tokens].
torch::Tensor write_token_keys_all(uint64_t seed, const torch::Tensor& indices, int64_t depth, int64_t tokens);

enum class Branch { Local, Global };

/// Position of a bank in the fixed bank order (block by block, local then global): the order of
/// VHMNImpl::write_banks() and of every per-bank list.
inline size_t bank_index(int64_t block, Branch branch) { return size_t(2 * block + (branch == Branch::Local ? 0 : 1)); }

/// Retrieval record of one branch of one block.
struct BranchTrace {
    std::vector<torch::Tensor> alpha;     // per step: local [B, N, K], global [B, K]
    std::vector<torch::Tensor> distance;  // per step 0..T: ‖z_t − q‖, local [B, N], global [B]
    torch::Tensor query;                  // q: local [B, N, L], global [B, L]
};

struct BlockTrace {
    BranchTrace local, global;
};

/// Everything a probe or the GUI may want from one forward pass (eval mode).
struct ForwardTrace {
    torch::Tensor logits;        // [B, classes]
    torch::Tensor pool_weights;  // [B, N] attention-pooling weights (Eq. 3)
    std::vector<BlockTrace> blocks;  // one per block
};

/// Local Hopfield branch: q_l = Conv2d(D, L, k, pad k/2)(y), refine against the local bank,
/// out = Linear(2L → D)([q, z]).
class LocalMemoryImpl : public torch::nn::Module {
public:
    /// `block`: this branch's block index (token choice for bank writes depends on it).
    explicit LocalMemoryImpl(const ModelConfig& cfg, int64_t block = 0);
    /// y: [B, N, D] (normalised tokens) → [B, N, D].
    torch::Tensor forward(const torch::Tensor& y, int64_t iterations, const WriteContext* ctx,
                          BranchTrace* trace);
    /// The query projection alone: [B, N, D] → [B, N, L].
    torch::Tensor query_of(const torch::Tensor& y);

    torch::nn::Conv2d query{nullptr};
    torch::nn::Linear out{nullptr};
    torch::Tensor beta;  // [1]
    MemoryBank bank{nullptr};
    /// When true, forward() keeps the mean entropy of the last step's α in `last_entropy` (a
    /// 0-dim tensor on the model's device; read by VHMNImpl::retrieval_entropies()).
    bool record_stats = false;
    torch::Tensor last_entropy;

private:
    int64_t grid_, tokens_per_image_, block_;
};
TORCH_MODULE(LocalMemory);

/// Global Hopfield branch: q_g = Linear(D → L)(mean_tokens(y)), refine against the global bank,
/// out = Linear(2L → D)([q, z]) broadcast to all tokens.
class GlobalMemoryImpl : public torch::nn::Module {
public:
    GlobalMemoryImpl(const ModelConfig& cfg);
    /// y: [B, N, D] → [B, 1, D].
    torch::Tensor forward(const torch::Tensor& y, int64_t iterations, const WriteContext* ctx,
                          BranchTrace* trace);

    torch::nn::Linear query{nullptr};
    torch::nn::Linear out{nullptr};
    torch::Tensor beta;  // [1]
    MemoryBank bank{nullptr};
    bool record_stats = false;
    torch::Tensor last_entropy;
};
TORCH_MODULE(GlobalMemory);

/// Pre-norm HMN block: x += local(LN(x)) + global(LN(x)); x += MLP(LN(x)).
class HMNBlockImpl : public torch::nn::Module {
public:
    explicit HMNBlockImpl(const ModelConfig& cfg, int64_t index = 0);
    torch::Tensor forward(const torch::Tensor& x, int64_t iterations, const WriteContext* ctx,
                          BlockTrace* trace);

    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    LocalMemory local_memory{nullptr};
    GlobalMemory global_memory{nullptr};
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(HMNBlock);

/// The paper's model. forward(x, ctx) (ClassifierImpl): in training mode with a WriteContext, bank
/// writes are staged (apply with commit_memory() after optimizer.step()); embed() does not depend
/// on T, so a probe evaluating several T on the same images computes it once.
class VHMNImpl : public ClassifierImpl {
public:
    explicit VHMNImpl(const ModelConfig& cfg);

    /// Forward pass that records retrieval weights, refinement distances and pooling weights, in
    /// inference mode (the trace's tensors are inference tensors: read them, don't train on them).
    /// `blocks`: which blocks to record (empty: all).
    ForwardTrace forward_trace(const torch::Tensor& x, const std::vector<int64_t>& blocks = {});

    /// Apply the staged bank writes of every block; returns vectors stored.
    int64_t commit_memory() override;
    void discard_staged_memory() override;
    /// Re-read bank host state after the buffers were replaced (called by load_model).
    void refresh_memory() override;
    /// Make every bank's fill count exact with one device read for all of them (the trainer calls
    /// this at logging steps; between them a GPU run knows only a lower bound, see MemoryBank).
    void update_fill_counts() override;

    /// Refinement iterations used by forward (the config's T unless overridden, e.g. by probes).
    int64_t iterations() const override { return iterations_; }
    void set_iterations(int64_t t) override;

    MemoryBank bank(int64_t block, Branch branch) const;
    /// Every bank in a fixed order (block by block, local then global) with the number of writes a
    /// training image stages in it per step (local: tokens_per_image, global: 1).
    struct BankWrites {
        MemoryBank bank;
        int64_t per_image;
    };
    std::vector<BankWrites> write_banks() const;
    /// β of each block: {local, global} (one device read for all blocks).
    std::vector<std::pair<double, double>> betas() const;
    /// Record the mean retrieval entropy of every branch in the next forward passes (costs a sync).
    void set_record_stats(bool on);
    /// Mean entropy (nats) of the last recorded forward pass per block: {local, global} (one device
    /// read for all blocks; 0 for a branch not recorded yet).
    std::vector<std::pair<double, double>> retrieval_entropies() const;

    torch::nn::ModuleList blocks{nullptr};

protected:
    torch::Tensor run(const torch::Tensor& tokens, const WriteContext* ctx) override {
        return run_traced(tokens, ctx, nullptr, {});
    }

private:
    torch::Tensor run_traced(const torch::Tensor& tokens, const WriteContext* ctx, ForwardTrace* trace,
                             const std::vector<int64_t>& record);
    int64_t iterations_;
};
TORCH_MODULE(VHMN);

/// The V-HMN of a model, or a ConfigError saying that `what` needs memory banks this model's
/// architecture does not have ("this run is a ViT (arch 'vit'): it has no memory banks, so <what> …").
VHMN memory_of(const Model& model, const std::string& what);

}  // namespace vhmn

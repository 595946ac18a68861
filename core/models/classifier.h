#pragma once
// What every image classifier of the tool shares: the interface the trainer, evaluation, the
// robustness probe and the app use, whatever the architecture (V-HMN or a baseline).
//
// Every family has the same patch embedding (`patch_embed`: a p×p, stride-p convolution to D
// channels, the tokens flattened row-major) and the same head: LayerNorm (`norm`), the attention
// pooling of Eq. 3 (`pool`) and a linear classifier (`head`). V-HMN and ViT add learned positions
// (`pos_embed`); MLP-Mixer and PoolFormer, as in their papers, have none (their token mixing is
// position-aware by construction).
#include <string>

#include <torch/torch.h>

#include "core/models/config.h"

namespace vhmn {

/// What a training forward pass needs to write the banks (ignored by models without memory).
struct WriteContext {
    torch::Tensor labels;   // [B] int64: class written for each sample
    torch::Tensor indices;  // [B] int64: dataset index of each sample (provenance; token choice)
    int64_t step = 0;       // training step (provenance)
    uint64_t seed = 0;      // the epoch's write seed (token choice): mix_seed(seed, epoch, 0)
    // Made once per step for every block (VHMNImpl::run_traced), so each block stages the same
    // label and source tensors and the banks share one placement (MemoryBankImpl::commit_all):
    torch::Tensor picks;          // [depth, B, t] int64: the tokens each block writes per image
    torch::Tensor token_labels;   // [B·t] labels, repeated per written token
    torch::Tensor token_indices;  // [B·t] dataset indices, repeated per written token
    torch::Tensor token_rows, token_cols;  // [depth, B·t] grid cell of each written token
    torch::Tensor no_cell;        // [B] −1: the global banks' row and column
};

/// Eq. 3: a = softmax_tokens(H·w_att), v = Σ_i a_i H_i.
class AttentionPoolImpl : public torch::nn::Module {
public:
    explicit AttentionPoolImpl(int64_t dim);
    /// h: [B, N, D] → v [B, D]; weights [B, N] if requested.
    torch::Tensor forward(const torch::Tensor& h, torch::Tensor* weights = nullptr);
    torch::nn::Linear score{nullptr};
};
TORCH_MODULE(AttentionPool);

/// `l` on the last dimension of x (any leading dimensions) as one addmm: libtorch 1.13 runs a
/// Linear on a 3-D input as matmul + add, two kernels where one does.
torch::Tensor linear(const torch::nn::Linear& l, const torch::Tensor& x);

/// Two-layer perceptron with GELU: Linear(in → hidden) → GELU → Linear(hidden → in), on the last
/// dimension (the channel MLP of every baseline block; the Mixer's token MLP too).
class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(int64_t in, int64_t hidden);
    torch::Tensor forward(const torch::Tensor& x) { return linear(fc2, torch::gelu(linear(fc1, x))); }
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

class VHMNImpl;

/// An image classifier: [B, C, H, W] normalised images → logits [B, classes].
class ClassifierImpl : public torch::nn::Module {
public:
    explicit ClassifierImpl(const ModelConfig& cfg);
    ~ClassifierImpl() override = default;

    /// In training mode with a WriteContext, a model with memory stages its bank writes (apply
    /// them with commit_memory() after optimizer.step()); models without memory ignore `ctx`.
    virtual torch::Tensor forward(const torch::Tensor& x, const WriteContext* ctx = nullptr);
    /// The patch embedding (plus positions where the family has them), [B, N, D]: the part of the
    /// forward pass a probe evaluating several inference settings on the same images computes once.
    torch::Tensor embed(const torch::Tensor& x);
    /// forward() from an embed() output (no bank writes).
    torch::Tensor forward_embedded(const torch::Tensor& tokens) { return run(tokens, nullptr); }

    const ModelConfig& config() const { return cfg_; }
    bool has_memory() const { return cfg_.has_memory(); }
    /// The V-HMN behind this classifier, or nullptr for a baseline.
    VHMNImpl* memory_model();

    // Memory hooks, no-ops for models without memory.
    virtual int64_t commit_memory() { return 0; }
    virtual void discard_staged_memory() {}
    virtual void refresh_memory() {}
    virtual void update_fill_counts() {}
    /// Refinement iterations used at inference (0 for models without memory).
    virtual int64_t iterations() const { return 0; }
    /// V-HMN: T in [0, 64]. Baselines accept only 0 (ConfigError otherwise: they have no T).
    virtual void set_iterations(int64_t t);

    torch::nn::Conv2d patch_embed{nullptr};
    torch::Tensor pos_embed;  // [1, N, D], undefined for families without learned positions
    torch::nn::LayerNorm norm{nullptr};
    AttentionPool pool{nullptr};
    torch::nn::Linear head{nullptr};

protected:
    /// Register patch_embed (and pos_embed when `positions`): call first in the constructor, so
    /// checkpoint keys and parameter order are the family's own.
    void make_stem(bool positions);
    /// Register norm, pool and head: call after the blocks.
    void make_head();
    /// The family's blocks and head from embedded tokens [B, N, D] to logits.
    virtual torch::Tensor run(const torch::Tensor& tokens, const WriteContext* ctx) = 0;
    /// norm → pool → head, with the pooling weights when asked.
    torch::Tensor classify(const torch::Tensor& h, torch::Tensor* pool_weights = nullptr);

    ModelConfig cfg_;
};

/// A baseline: the shared stem (with learned positions when `positions`), `cfg.depth` blocks of one
/// kind in sequence (checkpoint keys blocks.i.…), the shared head.
template <typename Block>
class StackedClassifierImpl : public ClassifierImpl {
public:
    StackedClassifierImpl(const ModelConfig& cfg, bool positions) : ClassifierImpl(cfg) {
        make_stem(positions);
        blocks = register_module("blocks", torch::nn::Sequential());
        for (int64_t i = 0; i < cfg.depth; ++i) blocks->push_back(Block(cfg));
        make_head();
    }
    torch::nn::Sequential blocks{nullptr};

protected:
    torch::Tensor run(const torch::Tensor& tokens, const WriteContext*) override { return classify(blocks->forward(tokens)); }
};

/// A shared handle on any classifier (like libtorch's module holders).
class Model : public torch::nn::ModuleHolder<ClassifierImpl> {
public:
    Model(std::nullptr_t) : ModuleHolder(nullptr) {}
    Model(std::shared_ptr<ClassifierImpl> impl) : ModuleHolder(std::move(impl)) {}
    template <typename Derived, typename = std::enable_if_t<std::is_base_of<ClassifierImpl, Derived>::value>>
    Model(std::shared_ptr<Derived> impl) : ModuleHolder(std::shared_ptr<ClassifierImpl>(std::move(impl))) {}
    /// From a family's holder (VHMN, ViT …).
    template <typename Holder,
              typename = std::enable_if_t<std::is_base_of<ClassifierImpl, typename Holder::ContainedType>::value &&
                                          !std::is_same<Holder, Model>::value>>
    Model(const Holder& holder) : Model(holder.ptr()) {}
};

}  // namespace vhmn

#pragma once
// ViT baseline (Dosovitskiy et al. 2021): pre-norm Transformer encoder blocks,
//   x += MHSA(LN(x));  x += MLP(LN(x)),
// on the shared patch embedding with learned positions. No class token: the tokens are pooled by
// the same attention pooling (Eq. 3) as V-HMN, so every family has the same head.
// Checkpoint keys: blocks.i.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.
#include <torch/torch.h>

#include "core/models/classifier.h"

namespace vhmn {

/// Scaled dot-product attention: softmax(q kᵀ / √d) v over the last two dimensions, with
/// q, k, v: [..., N, d] (d = q.size(-1)). Returns [..., N, d_v].
torch::Tensor self_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

/// Multi-head self-attention: qkv = Linear(D → 3D), `heads` heads of D/heads, out = Linear(D → D).
class MultiHeadAttentionImpl : public torch::nn::Module {
public:
    MultiHeadAttentionImpl(int64_t dim, int64_t heads);
    torch::Tensor forward(const torch::Tensor& x);  ///< [B, N, D] → [B, N, D]
    torch::nn::Linear qkv{nullptr}, proj{nullptr};

private:
    int64_t heads_;
};
TORCH_MODULE(MultiHeadAttention);

class ViTBlockImpl : public torch::nn::Module {
public:
    explicit ViTBlockImpl(const ModelConfig& cfg);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    MultiHeadAttention attn{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(ViTBlock);

class ViTImpl : public StackedClassifierImpl<ViTBlock> {
public:
    explicit ViTImpl(const ModelConfig& cfg) : StackedClassifierImpl(cfg, /*positions=*/true) {}
};
TORCH_MODULE(ViT);

}  // namespace vhmn

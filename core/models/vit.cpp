#include "core/models/vit.h"

#include <cmath>

namespace vhmn {
namespace nn = torch::nn;

torch::Tensor self_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    const double scale = 1.0 / std::sqrt(double(q.size(-1)));
    auto scores = torch::matmul(q * scale, k.transpose(-2, -1));  // [..., N, N]
    return torch::matmul(torch::softmax(scores, -1), v);
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t dim, int64_t heads) : heads_(heads) {
    qkv = register_module("qkv", nn::Linear(dim, 3 * dim));
    proj = register_module("proj", nn::Linear(dim, dim));
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), N = x.size(1), D = x.size(2), h = heads_;
    // [B, N, 3, h, d] → [3, B, h, N, d]
    auto parts = qkv(x).reshape({B, N, 3, h, D / h}).permute({2, 0, 3, 1, 4});
    auto o = self_attention(parts[0], parts[1], parts[2]);  // [B, h, N, d]
    return proj(o.transpose(1, 2).reshape({B, N, D}));
}

ViTBlockImpl::ViTBlockImpl(const ModelConfig& cfg) {
    norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    attn = register_module("attn", MultiHeadAttention(cfg.dim, cfg.heads));
    norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_ratio * cfg.dim));
}

torch::Tensor ViTBlockImpl::forward(const torch::Tensor& x) {
    auto h = x + attn(norm1(x));
    return h + mlp(norm2(h));
}

}  // namespace vhmn

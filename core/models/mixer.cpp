#include "core/models/mixer.h"

namespace vhmn {
namespace nn = torch::nn;

MixerBlockImpl::MixerBlockImpl(const ModelConfig& cfg) {
    norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    token_mlp = register_module("token_mlp", Mlp(cfg.tokens(), cfg.token_hidden));
    norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_ratio * cfg.dim));
}

torch::Tensor MixerBlockImpl::forward(const torch::Tensor& x) {
    auto h = x + token_mlp(norm1(x).transpose(1, 2)).transpose(1, 2);  // [B, D, N] mixes tokens
    return h + mlp(norm2(h));
}

}  // namespace vhmn

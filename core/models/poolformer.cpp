#include "core/models/poolformer.h"

namespace vhmn {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

torch::Tensor pool_mixer(const torch::Tensor& y, int64_t grid, int64_t pool_size) {
    const int64_t B = y.size(0), N = y.size(1), D = y.size(2);
    auto img = y.transpose(1, 2).reshape({B, D, grid, grid});
    auto pooled = F::avg_pool2d(
        img, F::AvgPool2dFuncOptions(pool_size).stride(1).padding(pool_size / 2).count_include_pad(false));
    return pooled.reshape({B, D, N}).transpose(1, 2) - y;
}

PoolFormerBlockImpl::PoolFormerBlockImpl(const ModelConfig& cfg) : grid_(cfg.grid()), pool_size_(cfg.pool_size) {
    norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_ratio * cfg.dim));
}

torch::Tensor PoolFormerBlockImpl::forward(const torch::Tensor& x) {
    auto h = x + pool_mixer(norm1(x), grid_, pool_size_);
    return h + mlp(norm2(h));
}

}  // namespace vhmn

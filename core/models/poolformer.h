#pragma once
// PoolFormer baseline, the paper's "MetaFormer" (Yu et al. 2022), isotropic (one stage, no
// downsampling) on the shared patch embedding (no positions):
//   x += Pool(LN(x)) − LN(x)   (k×k average over the token grid, stride 1, padding not counted)
//   x += MLP(LN(x))
// LayerNorm over channels stands in for the paper's GroupNorm(1) so every family normalises alike.
// Checkpoint keys: blocks.i.{norm1,norm2,mlp.fc1,mlp.fc2} (pooling has no parameters).
#include <torch/torch.h>

#include "core/models/classifier.h"

namespace vhmn {

/// The PoolFormer token mixer on tokens of a grid×grid image: [B, N, D] → pool(y) − y.
torch::Tensor pool_mixer(const torch::Tensor& y, int64_t grid, int64_t pool_size);

class PoolFormerBlockImpl : public torch::nn::Module {
public:
    explicit PoolFormerBlockImpl(const ModelConfig& cfg);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Mlp mlp{nullptr};

private:
    int64_t grid_, pool_size_;
};
TORCH_MODULE(PoolFormerBlock);

class PoolFormerImpl : public StackedClassifierImpl<PoolFormerBlock> {
public:
    explicit PoolFormerImpl(const ModelConfig& cfg) : StackedClassifierImpl(cfg, /*positions=*/false) {}
};
TORCH_MODULE(PoolFormer);

}  // namespace vhmn

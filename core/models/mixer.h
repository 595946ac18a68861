#pragma once
// MLP-Mixer baseline (Tolstikhin et al. 2021) on the shared patch embedding (no positions):
//   x += TokenMLP(LN(x)ᵀ)ᵀ   (mixes the N tokens per channel: N → token_hidden → N)
//   x += ChannelMLP(LN(x))   (D → r·D → D per token)
// Checkpoint keys: blocks.i.{norm1,token_mlp.fc1,token_mlp.fc2,norm2,mlp.fc1,mlp.fc2}.
#include <torch/torch.h>

#include "core/models/classifier.h"

namespace vhmn {

class MixerBlockImpl : public torch::nn::Module {
public:
    explicit MixerBlockImpl(const ModelConfig& cfg);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Mlp token_mlp{nullptr}, mlp{nullptr};
};
TORCH_MODULE(MixerBlock);

class MixerImpl : public StackedClassifierImpl<MixerBlock> {
public:
    explicit MixerImpl(const ModelConfig& cfg) : StackedClassifierImpl(cfg, /*positions=*/false) {}
};
TORCH_MODULE(Mixer);

}  // namespace vhmn

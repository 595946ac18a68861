#include "core/models/classifier.h"

#include <sstream>

#include "core/error.h"

namespace vhmn {
namespace nn = torch::nn;

AttentionPoolImpl::AttentionPoolImpl(int64_t dim) {
    score = register_module("score", nn::Linear(nn::LinearOptions(dim, 1).bias(false)));
}

torch::Tensor AttentionPoolImpl::forward(const torch::Tensor& h, torch::Tensor* weights) {
    auto a = torch::softmax(score(h).squeeze(-1), -1);  // [B, N]
    if (weights) *weights = a.detach();
    return (a.unsqueeze(-1) * h).sum(1);  // [B, D]
}

torch::Tensor linear(const torch::nn::Linear& l, const torch::Tensor& x) {
    if (x.dim() <= 2 || !l->bias.defined()) return torch::nn::functional::linear(x, l->weight, l->bias);
    auto shape = x.sizes().vec();
    shape.back() = l->weight.size(0);
    return torch::addmm(l->bias, x.reshape({-1, x.size(-1)}), l->weight.t()).view(shape);
}

MlpImpl::MlpImpl(int64_t in, int64_t hidden) {
    fc1 = register_module("fc1", nn::Linear(in, hidden));
    fc2 = register_module("fc2", nn::Linear(hidden, in));
}

// ---------------------------------------------------------------------------------------------
ClassifierImpl::ClassifierImpl(const ModelConfig& cfg) : cfg_(cfg) { cfg_.validate(); }

void ClassifierImpl::make_stem(bool positions) {
    patch_embed = register_module(
        "patch_embed", nn::Conv2d(nn::Conv2dOptions(cfg_.channels, cfg_.dim, cfg_.patch).stride(cfg_.patch)));
    if (positions) pos_embed = register_parameter("pos_embed", torch::randn({1, cfg_.tokens(), cfg_.dim}) * 0.02);
}

void ClassifierImpl::make_head() {
    norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({cfg_.dim})));
    pool = register_module("pool", AttentionPool(cfg_.dim));
    head = register_module("head", nn::Linear(cfg_.dim, cfg_.classes));
}

torch::Tensor ClassifierImpl::embed(const torch::Tensor& x) {
    if (x.dim() != 4 || x.size(1) != cfg_.channels || x.size(2) != cfg_.image_size ||
        x.size(3) != cfg_.image_size) {
        std::ostringstream msg;
        msg << "input of shape " << x.sizes() << " does not fit the model, which expects [B, "
            << cfg_.channels << ", " << cfg_.image_size << ", " << cfg_.image_size << "]";
        throw std::invalid_argument(msg.str());
    }
    auto t = patch_embed(x).flatten(2).transpose(1, 2);  // [B, N, D]
    return pos_embed.defined() ? t + pos_embed : t;
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& x, const WriteContext* ctx) {
    return run(embed(x), ctx);
}

torch::Tensor ClassifierImpl::classify(const torch::Tensor& h, torch::Tensor* pool_weights) {
    return head(pool(norm(h), pool_weights));
}

void ClassifierImpl::set_iterations(int64_t t) {
    if (t != 0)
        throw ConfigError("a " + arch_display_name(cfg_.arch) + " (arch '" + cfg_.arch +
                          "') has no refinement iterations: only V-HMN takes a T, got " + std::to_string(t));
}

}  // namespace vhmn

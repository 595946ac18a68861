#pragma once
// Helpers shared by the probes (core/probes/framework.cpp, core/probes/*.cpp); not part of the public API.
#include <algorithm>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/models/normalize.h"
#include "core/probes/framework.h"
#include "core/runtime.h"

namespace vhmn::probe_detail {

/// Eval mode and a fixed T for the probe's duration; the model's state is restored afterwards.
class ProbeScope {
public:
    explicit ProbeScope(Model& model) : model_(model), training_(model->is_training()), t_(model->iterations()) {
        model_->eval();
    }
    ~ProbeScope() {
        model_->set_iterations(t_);
        if (training_) model_->train();
    }
    ProbeScope(const ProbeScope&) = delete;
    ProbeScope& operator=(const ProbeScope&) = delete;

private:
    Model& model_;
    bool training_;
    int64_t t_;
};

inline void check_input(const ProbeInput& in) {
    if (!in.model) throw ConfigError("probe: no model");
    if (in.test.size() == 0) throw ConfigError("probe: no test images");
    if (in.batch < 1) throw ConfigError("probe: batch must be >= 1");
}

/// Calls fn(begin, end, images01 where the split is, labels on the CPU) per batch, with progress
/// and cancel. The probes accumulate their counts on the host, so the labels are always there.
template <typename Fn>
void for_batches(const ProbeInput& in, const ProbeControl& control, const std::string& what, Fn&& fn) {
    const int64_t n = in.test.size();
    for (int64_t s = 0; s < n; s += in.batch) {
        if (control.cancel && control.cancel->load()) throw ProbeCancelled();
        const int64_t e = std::min(n, s + in.batch);
        auto x = in.test.images.slice(0, s, e).to(torch::kFloat).div_(255.0);
        auto y = in.test.labels.slice(0, s, e).to(torch::kCPU);
        fn(s, e, x, y);
        if (control.progress) control.progress(double(e) / double(n), what);
    }
}

inline torch::Tensor normalized(const ProbeInput& in, const torch::Tensor& x01) {
    return normalize_images(x01.to(in.device), in.mean, in.std);
}

/// α at the last refinement step of one block/branch, as [queries, K] float.
inline torch::Tensor last_alpha(const ForwardTrace& t, int64_t block, Branch branch) {
    const auto& bt = t.blocks.at(block);
    const auto& a = (branch == Branch::Local ? bt.local.alpha : bt.global.alpha).back();
    return a.reshape({-1, a.size(-1)}).to(torch::kFloat);
}

/// The branches a view names: "local", "global" or "both" (ConfigError otherwise).
inline std::vector<Branch> branches_of(const std::string& name) {
    if (name == "both") return {Branch::Local, Branch::Global};
    return {parse_branch(name)};
}

/// ConfigError unless `image` is uint8 [C, H, W] of the model's input shape.
inline void check_image(const ModelConfig& cfg, const torch::Tensor& image, const std::string& what) {
    if (image.dim() != 3 || image.size(0) != cfg.channels || image.size(1) != cfg.image_size ||
        image.size(2) != cfg.image_size)
        throw ConfigError("probe " + what + ": expected uint8 [" + std::to_string(cfg.channels) + ", " +
                          std::to_string(cfg.image_size) + ", " + std::to_string(cfg.image_size) + "]");
}

template <typename T>
std::vector<T> to_vector(const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

/// Indices of the k largest weights among filled slots, [Q, k].
inline torch::Tensor topk_filled(const torch::Tensor& alpha, const torch::Tensor& valid, int64_t k) {
    auto key = alpha.masked_fill(valid.logical_not().unsqueeze(0), -1.0f);
    return std::get<1>(key.topk(k, 1));
}

/// The generator of a robustness/stability condition.
inline at::Generator condition_generator(uint64_t seed, size_t condition) {
    return at::make_generator<at::CPUGeneratorImpl>(mix_seed(seed, condition, 17));
}

}  // namespace vhmn::probe_detail

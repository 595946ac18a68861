#include "core/bench.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/model.h"
#include "core/runtime.h"

namespace vhmn {
namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void sync(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

BenchResult benchmark(const ModelConfig& cfg, int64_t batch, int64_t steps, const torch::Device& device) {
    if (batch < 1) throw ConfigError("--batch must be at least 1");
    if (steps < 1) throw ConfigError("--steps must be at least 1");
    torch::manual_seed(0);
    VHMN model(cfg);
    model->to(device);
    model->refresh_memory();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(5e-5));
    auto x = torch::randn({batch, cfg.channels, cfg.image_size, cfg.image_size}, torch::TensorOptions().device(device));
    auto y = torch::randint(cfg.classes, {batch}, torch::TensorOptions().dtype(torch::kInt64).device(device));
    auto idx = torch::arange(batch, torch::kInt64);
    using Clock = std::chrono::steady_clock;
    std::vector<double> train_ms, infer_ms;
    model->train();
    const auto cpu0 = process_cpu_seconds();
    for (int64_t s = 0; s < steps + 2; ++s) {
        sync(device);
        const auto t0 = Clock::now();
        WriteContext ctx{y, idx, s, 0};
        opt.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(model->forward(x, &ctx), y);
        loss.backward();
        opt.step();
        model->commit_memory();
        sync(device);
        if (s >= 2) train_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    const auto cpu1 = process_cpu_seconds();
    model->eval();
    c10::InferenceMode inference;
    for (int64_t s = 0; s < steps + 2; ++s) {
        sync(device);
        const auto t0 = Clock::now();
        auto logits = model->forward(x);
        sync(device);
        if (s >= 2) infer_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    BenchResult r;
    r.batch = batch, r.steps = steps;
    r.train_user_s = cpu1.first - cpu0.first, r.train_sys_s = cpu1.second - cpu0.second;
    r.train_step_ms = median(train_ms), r.infer_step_ms = median(infer_ms);
    r.train_img_per_s = 1000.0 * double(batch) / r.train_step_ms;
    r.infer_img_per_s = 1000.0 * double(batch) / r.infer_step_ms;
    return r;
}

}  // namespace vhmn

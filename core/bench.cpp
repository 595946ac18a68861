#include "core/bench.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/models/vhmn.h"
#include "core/runtime.h"
#include "core/torch_compat.h"

namespace vhmn {
namespace {

void sync(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

BenchResult benchmark(const ModelConfig& cfg, int64_t batch, int64_t steps, const torch::Device& device, bool bf16) {
    if (batch < 1) throw ConfigError("--batch must be at least 1");
    if (steps < 1) throw ConfigError("--steps must be at least 1");
    torch::manual_seed(0);
    Model model = make_model(cfg);
    model->to(device);
    model->refresh_memory();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(5e-5));
    auto x = torch::randn({batch, cfg.channels, cfg.image_size, cfg.image_size}, torch::TensorOptions().device(device));
    auto y = torch::randint(cfg.classes, {batch}, torch::TensorOptions().dtype(torch::kInt64).device(device));
    auto idx = torch::arange(batch, torch::TensorOptions(torch::kInt64).device(device));
    using Clock = std::chrono::steady_clock;
    // Two warm-up steps, then `steps` timed back to back between two synchronisations (a GPU runs
    // ahead of the host; per-step syncs would time the launch gaps, not the steps). On CUDA the
    // training step runs under bf16 autocast, as `vhmn train` does by default.
    auto timed = [&](auto&& step) {
        for (int64_t s = 0; s < 2; ++s) step(s);
        sync(device);
        const auto t0 = Clock::now();
        for (int64_t s = 2; s < steps + 2; ++s) step(s);
        sync(device);
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / double(steps);
    };
    model->train();
    const auto cpu0 = process_cpu_seconds();
    const double train_ms = timed([&](int64_t s) {
        WriteContext ctx{y, idx, s, 0};
        opt.zero_grad();
        torch::Tensor loss;
        {
            compat::CudaAutocastBf16 autocast(bf16 && device.is_cuda());
            loss = torch::nn::functional::cross_entropy(model->forward(x, &ctx).to(torch::kFloat), y);
        }
        loss.backward();
        opt.step();
        model->commit_memory();
    });
    const auto cpu1 = process_cpu_seconds();
    model->eval();
    c10::InferenceMode inference;
    const double infer_ms = timed([&](int64_t) {
        compat::CudaAutocastBf16 autocast(bf16 && device.is_cuda());
        model->forward(x);
    });
    BenchResult r;
    r.batch = batch, r.steps = steps;
    r.train_user_s = cpu1.first - cpu0.first, r.train_sys_s = cpu1.second - cpu0.second;
    r.train_step_ms = train_ms, r.infer_step_ms = infer_ms, r.bf16 = bf16 && device.is_cuda();
    r.train_img_per_s = 1000.0 * double(batch) / r.train_step_ms;
    r.infer_img_per_s = 1000.0 * double(batch) / r.infer_step_ms;
    return r;
}

}  // namespace vhmn

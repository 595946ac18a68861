#include "core/train/bench.h"

#include <algorithm>
#include <chrono>

#include "core/emulated_device.h"
#include "core/error.h"
#include "core/models/vhmn.h"
#include "core/train/op_count.h"
#include "core/runtime.h"
#include "core/torch_compat.h"

namespace vhmn {
namespace {

void sync(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize();
}

/// Random 8-bit images (two batches' worth) with random labels.
data::Split random_split(const ModelConfig& cfg, int64_t n) {
    torch::manual_seed(0);
    data::Split s;
    s.images = torch::randint(0, 256, {n, cfg.channels, cfg.image_size, cfg.image_size}, torch::kLong).to(torch::kUInt8);
    s.labels = torch::randint(cfg.classes, {n}, torch::kLong);
    s.index = torch::arange(n, torch::kLong);
    return s;
}

/// No augmentation: the images as they are, one-hot targets.
AugmentFn no_augment(int64_t classes) {
    return [classes](const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& idx, at::Generator&) {
        auto lab = to_device(y, x.device()).to(torch::kLong);
        data::AugmentedBatch b;
        b.images = x;
        b.targets = torch::zeros({lab.size(0), classes}, x.options()).scatter_(1, lab.unsqueeze(1), 1.0);
        b.write_labels = b.accuracy_labels = lab;
        b.write_indices = to_device(idx, x.device()).to(torch::kLong);
        return b;
    };
}

std::unique_ptr<Trainer> bench_trainer(const ModelConfig& cfg, const BenchOptions& o, const torch::Device& device) {
    RunConfig r;
    r.preset = "bench";
    r.model = cfg;
    r.train.batch = o.batch, r.train.epochs = 1, r.train.warmup_epochs = 0;
    r.train.device = device_name(device), r.train.bf16 = o.bf16, r.train.tf32 = o.tf32;
    r.data.mean.assign(size_t(cfg.channels), 0.5), r.data.std.assign(size_t(cfg.channels), 0.25);
    auto split = random_split(cfg, 2 * o.batch);
    return std::make_unique<Trainer>(r, split, split, o.augment ? o.augment : no_augment(cfg.classes),
                                     "");
}

/// The positions of step s's batch in the bench split (two batches, alternating), on the split's
/// device (the trainer keeps a GPU's split there).
torch::Tensor positions(int64_t s, int64_t batch, const torch::Device& device) {
    return torch::arange((s % 2) * batch, (s % 2 + 1) * batch, torch::TensorOptions(torch::kLong).device(device));
}

}  // namespace

BenchResult benchmark(const ModelConfig& cfg, const BenchOptions& o) {
    if (o.batch < 1) throw ConfigError("--batch must be at least 1");
    if (o.steps < 1) throw ConfigError("--steps must be at least 1");
    if (o.device.is_cuda()) set_tf32(o.tf32);
    auto trainer = bench_trainer(cfg, o, o.device);
    using Clock = std::chrono::steady_clock;
    // Two warm-up steps, then `steps` timed back to back between two synchronisations (a GPU runs
    // ahead of the host; per-step syncs would time the launch gaps, not the steps).
    auto timed = [&](auto&& step) {
        for (int64_t s = 0; s < 2; ++s) step(s);
        sync(o.device);
        const auto t0 = Clock::now();
        for (int64_t s = 2; s < o.steps + 2; ++s) step(s);
        sync(o.device);
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / double(o.steps);
    };
    trainer->model()->train();
    const auto cpu0 = process_cpu_seconds();
    const double train_ms = timed([&](int64_t s) { trainer->step(positions(s, o.batch, o.device), 0, false); });
    const auto cpu1 = process_cpu_seconds();
    BenchResult r;
    if (o.count_ops) {
        // Counted on the emulated device where it can train, whatever device is benchmarked: the
        // GPU's code path, and it tells the calls that run a kernel from views (fp32: no autocast
        // casts). Elsewhere (a CUDA build) the dispatches are counted on the benchmarked device.
        const bool emulate = emulated_backward_works();
        auto emulated = emulate ? bench_trainer(cfg, o, emulated_device()) : nullptr;
        Trainer& t = emulate ? *emulated : *trainer;
        t.model()->train();
        for (int64_t s = 0; s < 2; ++s) t.step(positions(s, o.batch, t.device()), 0, false);
        sync(t.device());
        const int64_t kernels0 = emulated_kernel_ops();
        const auto names0 = emulated_kernel_ops_by_name();
        OpCounter ops;
        t.step(positions(2, o.batch, t.device()), 0, false);
        sync(t.device());
        r.ops_per_step = emulate ? emulated_kernel_ops() - kernels0 : -1;
        r.ops_top_level = ops.top_level(), r.ops_all = ops.all();
        r.ops_device = device_name(t.device());
        for (const auto& [name, n] : emulated_kernel_ops_by_name()) {
            const auto it = names0.find(name);
            const int64_t d = n - (it == names0.end() ? 0 : it->second);
            if (d > 0) r.ops_by_name[name] = d;
        }
    }
    double infer_ms = 0;
    if (o.inference) {
        Model model = trainer->model();
        model->eval();
        c10::InferenceMode inference;
        auto x = torch::randn({o.batch, cfg.channels, cfg.image_size, cfg.image_size}, torch::TensorOptions().device(o.device));
        infer_ms = timed([&](int64_t) {
            compat::CudaAutocastBf16 autocast(o.bf16 && o.device.is_cuda());
            model->forward(x);
        });
    }
    r.batch = o.batch, r.steps = o.steps;
    r.train_user_s = cpu1.first - cpu0.first, r.train_sys_s = cpu1.second - cpu0.second;
    r.train_step_ms = train_ms, r.infer_step_ms = infer_ms, r.bf16 = o.bf16 && o.device.is_cuda();
    r.precision = trainer->config().train.precision;
    r.train_img_per_s = 1000.0 * double(o.batch) / r.train_step_ms;
    r.infer_img_per_s = infer_ms > 0 ? 1000.0 * double(o.batch) / r.infer_step_ms : 0.0;
    return r;
}

}  // namespace vhmn

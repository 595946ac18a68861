#include <iostream>

#include <nlohmann/json.hpp>

#include "app/common/bench_data.h"
#include "app/common/experiment.h"
#include "app/cli/commands.h"
#include "app/cli/help.h"
#include "core/devices.h"
#include "core/train/bench.h"
#include "core/runtime.h"
#include "core/models/stats.h"
#include "datasets/augment/augment.h"

namespace vhmn::cli {

namespace {

template <typename Opts>
void bench_data(Opts& o, int threads, bool batch_given) {
    auto r = o.data;
    r.preset = o.preset, r.arch = o.arch, r.device = o.device;
    if (batch_given) r.batch = o.batch;
    const auto res = app::bench_on_data(r);
    const auto policy = configure_allocator();
    auto phase = [](const app::PhaseTime& t) {
        return nlohmann::json{{"wall_s", t.wall_s}, {"user_s", t.user_s}, {"sys_s", t.sys_s},
                              {"images", t.images}, {"img_per_s", t.images_per_s()}};
    };
    if (o.json) {
        nlohmann::json j;
        j["dataset"] = res.dataset, j["preset"] = r.run.empty() ? r.preset : "run " + r.run;
        j["arch"] = res.arch;
        j["device"] = r.device, j["threads"] = threads, j["allocator"] = policy.description;
        j["batch"] = res.batch, j["eval_batch"] = res.eval_batch, j["train_steps"] = res.train_steps;
        j["augment"] = r.augment;
        j["load"] = phase(res.load), j["train"] = phase(res.train), j["eval"] = phase(res.eval);
        j["train_img_per_s"] = res.train.images_per_s(), j["eval_img_per_s"] = res.eval.images_per_s();
        j["eval_top1"] = res.eval_result.top1;
        j["max_rss_mib"] = double(res.max_rss_kib) / 1024.0;
        std::cout << j.dump(2) << "\n";
        return;
    }
    auto line = [](const char* what, const app::PhaseTime& t) {
        std::printf("  %-10s %8.1f img/s  wall %7.2f s  user %7.2f s  sys %6.2f s  (%lld images)\n", what,
                    t.images_per_s(), t.wall_s, t.user_s, t.sys_s, (long long)t.images);
    };
    std::printf("%s %s on %s, %s, %d threads; %s\n", arch_display_name(res.arch).c_str(),
                r.run.empty() ? r.preset.c_str() : r.run.c_str(), res.dataset.c_str(),
                r.device.c_str(), threads, policy.description.c_str());
    line("load", res.load);
    std::printf("  training slice: batch %lld, %lld steps, augment %s\n", (long long)res.batch, (long long)res.train_steps,
                r.augment.c_str());
    line("train", res.train);
    std::printf("  evaluation: batch %lld, top-1 %.2f %%\n", (long long)res.eval_batch, res.eval_result.top1);
    line("eval", res.eval);
    std::printf("  peak RSS %.0f MiB\n", double(res.max_rss_kib) / 1024.0);
}

}  // namespace

/// The --data mode's options (and --augment, which both modes use).
static void add_data_options(CLI::App* cmd, app::DataBenchRequest& d) {
    cmd->add_option("--data", d.data, "Real-data mode: time a training epoch slice and an evaluation pass on this dataset");
    cmd->add_option("--run", d.run, "With --data: evaluate this trained run (and train its model config)");
    cmd->add_option("--train-images", d.train_images, "With --data: images in the training slice")
        ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
    cmd->add_option("--limit", d.eval_images, "With --data: test images evaluated (0: all)")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    hide(cmd->add_option("--eval-images", d.eval_images, "old name of --limit")->check(CLI::Range(int64_t(0), int64_t(1) << 40)));
    cmd->add_option("--eval-batch", d.eval_batch, "With --data: evaluation batch")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--augment", d.augment, "Augmentation of the training steps: none, basic, paper (default: paper, "
                                            "as `vhmn train`) or imagenet")
        ->check(CLI::IsMember(data::AugmentConfig::recipe_names()));
}

void add_bench(CLI::App& app) {
    struct Opts {
        std::string preset = "cpu-tiny", arch = "vhmn", device = "cpu";
        int64_t batch = 256, steps = 10;
        bool json = false, fp32 = false;
        std::string tf32 = "on";
        double peak_tflops = 0;  // 0: the device's own peak (core/devices.h)
        int threads = 0;
        app::DataBenchRequest data;  // --data mode
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("bench", "Training and inference images/s of a preset on random data, or "
                                            "(--data) one training epoch slice and one evaluation pass end to end");
    cmd->add_option("--preset", o->preset, "Model preset")->check(CLI::IsMember(preset_names()));
    cmd->add_option("--arch", o->arch, "Architecture: vhmn, vit, mixer or poolformer (at the preset's size)")
        ->check(CLI::IsMember(arch_names()));
    cmd->add_option("--batch", o->batch, "Batch size")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--steps", o->steps, "Timed steps (after 2 warm-up steps)")->check(CLI::Range(int64_t(1), int64_t(100000)));
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N (emulated: a CPU stand-in for a GPU that refuses device mixing, for tests)");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_flag("--fp32", o->fp32, "On CUDA: no bf16 autocast (training's default is bf16)");
    cmd->add_option("--tf32", o->tf32, "On CUDA GPUs that have it: TF32 matmuls and convolutions (default on, as training)")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--peak-tflops", o->peak_tflops,
                    "Peak TFLOP/s for the MFU figure (default: the device's own peak for the precision used; "
                    "the JSON's peak_flops_basis says how it was derived)")
        ->check(CLI::Range(1e-3, 1e6));
    add_data_options(cmd, o->data);
    cmd->callback([o, cmd] {
        const int threads = configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        if (!o->data.data.empty()) return bench_data(*o, threads, cmd->count("--batch") > 0);
        const auto device = parse_device(o->device);
        const ModelConfig cfg = preset(o->preset, o->arch);
        BenchOptions bo;
        bo.batch = o->batch, bo.steps = o->steps, bo.device = device, bo.bf16 = !o->fp32;
        bo.tf32 = parse_on_off("--tf32", o->tf32);
        if (o->data.augment != "none")
            bo.augment = app::make_augment_fn(data::AugmentConfig::recipe(o->data.augment), cfg.classes);
        const BenchResult r = benchmark(cfg, bo);
        // Model FLOPs utilisation against the peak of the device used, for the precision used: a
        // training step costs ~3 forward passes (forward + 2× backward).
        PeakFlops peak = peak_flops(device_name(device), threads, r.bf16, bo.tf32);
        if (o->peak_tflops > 0) peak = {o->peak_tflops * 1e12, "given with --peak-tflops"};
        const double mfu = peak.flops > 0 ? 3.0 * double(forward_flops(cfg)) * r.train_img_per_s / peak.flops : 0.0;
        if (o->json) {
            nlohmann::json j;
            j["preset"] = o->preset, j["arch"] = o->arch, j["device"] = o->device, j["threads"] = threads;
            j["parameters"] = count_parameters(cfg);
            j["batch"] = r.batch, j["steps"] = r.steps;
            j["train_img_per_s"] = r.train_img_per_s, j["infer_img_per_s"] = r.infer_img_per_s;
            j["train_step_ms"] = r.train_step_ms, j["infer_step_ms"] = r.infer_step_ms;
            j["forward_flops_per_image"] = forward_flops(cfg);
            j["train_user_s"] = r.train_user_s, j["train_sys_s"] = r.train_sys_s;
            j["allocator"] = configure_allocator().description;
            j["bf16"] = r.bf16, j["peak_flops"] = peak.flops, j["peak_tflops"] = peak.flops / 1e12;
            j["peak_flops_basis"] = peak.basis;
            j["mfu"] = peak.flops > 0 ? nlohmann::json(mfu) : nlohmann::json(nullptr);
            j["infer_mfu"] = peak.flops > 0 ? nlohmann::json(double(forward_flops(cfg)) * r.infer_img_per_s / peak.flops)
                                            : nlohmann::json(nullptr);
            j["augment"] = o->data.augment, j["precision"] = r.precision;
            // See BenchResult: kernel calls (what a GPU launches), top-level dispatches, every call.
            j["ops_per_step"] = r.ops_per_step, j["ops_per_step_top_level"] = r.ops_top_level;
            j["ops_per_step_all"] = r.ops_all;
            j["ops_counted_on"] = r.ops_device;
            j["ops_by_name"] = r.ops_by_name;
            std::cout << j.dump(2) << "\n";
        } else {
            std::printf("%s %s on %s (%d threads%s), batch %lld, mean of %lld steps:\n"
                        "  training  %9.1f img/s  (%.1f ms/step; MFU %.2f %% of %.3g TFLOP/s)\n"
                        "  inference %9.1f img/s  (%.1f ms/step)\n"
                        "  %lld kernel calls per training step; %lld top-level ATen calls, %lld with nested ones (augment %s; counted on %s)\n",
                        arch_display_name(o->arch).c_str(), o->preset.c_str(), o->device.c_str(), threads, r.bf16 ? ", bf16 autocast" : "",
                        (long long)r.batch, (long long)r.steps, r.train_img_per_s, r.train_step_ms, 100.0 * mfu,
                        peak.flops / 1e12, r.infer_img_per_s, r.infer_step_ms, (long long)r.ops_per_step, (long long)r.ops_top_level, (long long)r.ops_all,
                        o->data.augment.c_str(), r.ops_device.c_str());
        }
    });
}

}  // namespace vhmn::cli

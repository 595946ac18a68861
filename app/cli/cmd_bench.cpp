#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "core/bench.h"
#include "core/runtime.h"
#include "core/stats.h"

namespace vhmn::cli {

void add_bench(CLI::App& app) {
    struct Opts {
        std::string preset = "cpu-tiny", device = "cpu";
        int64_t batch = 256, steps = 10;
        bool json = false;
        int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("bench", "Median training and inference images/s of a preset on random data");
    cmd->add_option("--preset", o->preset, "Model preset")->check(CLI::IsMember(preset_names()));
    cmd->add_option("--batch", o->batch, "Batch size")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--steps", o->steps, "Timed steps (after 2 warm-up steps)")->check(CLI::Range(int64_t(1), int64_t(100000)));
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o] {
        const int threads = configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        const auto device = parse_device(o->device);
        const ModelConfig cfg = preset(o->preset);
        const BenchResult r = benchmark(cfg, o->batch, o->steps, device);
        if (o->json) {
            nlohmann::json j;
            j["preset"] = o->preset, j["device"] = o->device, j["threads"] = threads;
            j["batch"] = r.batch, j["steps"] = r.steps;
            j["train_img_per_s"] = r.train_img_per_s, j["infer_img_per_s"] = r.infer_img_per_s;
            j["train_step_ms"] = r.train_step_ms, j["infer_step_ms"] = r.infer_step_ms;
            j["forward_flops_per_image"] = forward_flops(cfg);
            std::cout << j.dump(2) << "\n";
        } else {
            std::printf("%s on %s (%d threads), batch %lld, median of %lld steps:\n"
                        "  training  %9.1f img/s  (%.1f ms/step)\n  inference %9.1f img/s  (%.1f ms/step)\n",
                        o->preset.c_str(), o->device.c_str(), threads, (long long)r.batch, (long long)r.steps,
                        r.train_img_per_s, r.train_step_ms, r.infer_img_per_s, r.infer_step_ms);
        }
    });
}

}  // namespace vhmn::cli

#include <iomanip>
#include <iostream>

#include "app/cli/commands.h"
#include "app/common/model_summary.h"
#include "core/devices.h"
#include "core/error.h"

namespace vhmn::cli {

void add_info(CLI::App& app) {
    struct Opts {
        std::string preset = "cpu-tiny", arch = "vhmn";
        bool json = false, devices = false;
        int64_t image_size = 0, channels = 0, classes = 0, iterations = -1;
    };
    auto opts = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("info", "Print a preset's parameter count, bank sizes and FLOPs (any architecture)");
    std::vector<std::string> archs = arch_names();
    archs.push_back("all");
    cmd->add_option("--arch", opts->arch, "Architecture (vhmn, vit, mixer, poolformer), or 'all' for a table of every one")
        ->check(CLI::IsMember(archs));
    cmd->add_option("--preset", opts->preset, "Model preset")
        ->check(CLI::IsMember(preset_names()));
    cmd->add_flag("--json", opts->json, "Print one JSON object");
    cmd->add_flag("--devices", opts->devices,
                  "List the compute devices instead: cpu and each visible CUDA GPU (name, memory), the libtorch "
                  "version and whether it has CUDA");
    cmd->add_option("--image-size", opts->image_size, "Override the input size (H = W)")->check(CLI::PositiveNumber);
    cmd->add_option("--channels", opts->channels, "Override the input channels")->check(CLI::PositiveNumber);
    cmd->add_option("--classes", opts->classes, "Override the number of classes")->check(CLI::PositiveNumber);
    cmd->add_option("--iterations", opts->iterations, "Override refinement iterations T")->check(CLI::Range(0, 64));
    cmd->callback([opts] {
        if (opts->devices) {
            const auto list = list_devices();
            if (opts->json) {
                std::cout << list.to_json().dump(2) << "\n";
                return;
            }
            for (const auto& d : list.devices)
                std::cout << std::left << std::setw(10) << d.id() << d.name << ", " << std::fixed << std::setprecision(1)
                          << double(d.memory_bytes) / double(int64_t(1) << 30) << " GiB\n";
            std::cout << "libtorch " << list.torch_version << (list.cuda_build ? " (CUDA)" : " (CPU)") << "\n";
            if (!list.cpu_only_reason.empty()) std::cout << "CPU only: " << list.cpu_only_reason << "\n";
            return;
        }
        auto config_of = [&](const std::string& arch) {
            ModelConfig cfg = preset(opts->preset, arch);
            if (opts->image_size) cfg.image_size = opts->image_size;
            if (opts->channels) cfg.channels = opts->channels;
            if (opts->classes) cfg.classes = opts->classes;
            if (opts->iterations >= 0 && cfg.has_memory()) cfg.iterations = opts->iterations;
            return cfg;
        };
        if (opts->iterations >= 0 && opts->arch != "vhmn" && opts->arch != "all")
            throw ConfigError("--iterations is a V-HMN setting; --arch " + opts->arch + " has no memory banks");
        if (opts->arch == "all") {
            std::vector<app::ModelSummary> all;
            for (const auto& a : arch_names()) all.push_back(app::summarize(opts->preset, config_of(a)));
            if (opts->json) {
                nlohmann::json j = nlohmann::json::array();
                for (const auto& s : all) j.push_back(s.to_json());
                std::cout << j.dump(2) << "\n";
                return;
            }
            std::cout << app::architecture_table(all);
            return;
        }
        const auto summary = app::summarize(opts->preset, config_of(opts->arch));
        if (opts->json) {
            std::cout << summary.to_json().dump(2) << "\n";
            return;
        }
        for (const auto& [label, value] : summary.rows())
            std::cout << std::left << std::setw(26) << label << value << "\n";
    });
}

}  // namespace vhmn::cli

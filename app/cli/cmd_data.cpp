#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "core/io/fingerprint.h"
#include "core/runtime.h"
#include "datasets/readers.h"

namespace vhmn::cli {

void add_data(CLI::App& app) {
    struct Opts {
        std::string path;
        bool json = false;
        int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* data = app.add_subcommand("data", "Datasets: identity of what a run was trained on");
    data->require_subcommand(1);
    auto* cmd = data->add_subcommand("fingerprint", "Print a dataset's fingerprint: per split the image count and "
                                                    "shape, an order-independent content digest and a digest in index order");
    cmd->add_option("PATH", o->path, "Dataset folder or 'builtin'")->required();
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->callback([o] {
        configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        const auto ds = data::load_dataset(o->path, {});
        const auto t0 = std::chrono::steady_clock::now();
        const auto train = fingerprint_split(ds.train), test = fingerprint_split(ds.test);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (o->json) {
            nlohmann::json j;
            j["name"] = ds.name, j["format"] = ds.format, j["path"] = ds.path;
            j["train"] = train, j["test"] = test, j["seconds"] = seconds;
            std::cout << j.dump(2) << "\n";
            return;
        }
        std::printf("%s (%s) at %s, fingerprinted in %.2f s\n", ds.name.c_str(), ds.format.c_str(), ds.path.c_str(), seconds);
        for (const auto& [name, f] : {std::pair<const char*, const SplitFingerprint&>{"train", train}, {"test", test}}) {
            std::string shape;
            for (size_t i = 0; i < f.shape.size(); ++i) shape += (i ? "x" : "") + std::to_string(f.shape[i]);
            std::printf("  %-5s %7lld images %-9s content %s  ordered %s\n", name, (long long)f.count, shape.c_str(),
                        hex64(f.content).c_str(), hex64(f.ordered).c_str());
        }
    });
}

}  // namespace vhmn::cli

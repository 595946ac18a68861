// `vhmn data fingerprint --data PATH` and `vhmn data locate RUN`: the identity of datasets and of the
// data a run was trained on (issue 16).
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/help.h"
#include "app/common/data_location.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/train/train_config.h"
#include "datasets/readers/fingerprint_cache.h"

namespace vhmn::cli {
namespace {

void print_split(const char* name, const SplitFingerprint& f) {
    std::string shape;
    for (size_t i = 0; i < f.shape.size(); ++i) shape += (i ? "x" : "") + std::to_string(f.shape[i]);
    std::printf("  %-5s %7lld images %-9s content %s  ordered %s\n", name, (long long)f.count, shape.c_str(),
                hex64(f.content).c_str(), hex64(f.ordered).c_str());
}

void add_fingerprint(CLI::App* data) {
    struct Opts {
        std::string path;
        bool json = false, no_cache = false;
        int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = data->add_subcommand("fingerprint", "Print a dataset's fingerprint: per split the image count and "
                                                    "shape, an order-independent content digest and a digest in index order");
    add_data_path(cmd, o->path);
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_flag("--no-cache", o->no_cache, "Read and hash the files even when a cached fingerprint is valid");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->callback([o] {
        require_data_path(o->path);
        configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        const auto f = data::dataset_fingerprint(o->path, {}, !o->no_cache);
        if (o->json) {
            nlohmann::json j;
            j["name"] = f.name, j["format"] = f.format, j["path"] = f.path;
            j["train"] = f.train, j["test"] = f.test, j["seconds"] = f.seconds, j["hash_seconds"] = f.hash_seconds;
            j["cached"] = f.cached;
            std::cout << j.dump(2) << "\n";
            return;
        }
        if (f.cached)
            std::printf("%s (%s) at %s (cached: the files are unchanged)\n", f.name.c_str(), f.format.c_str(), f.path.c_str());
        else
            std::printf("%s (%s) at %s, read and fingerprinted in %.2f s (hashing %.3f s)\n", f.name.c_str(),
                        f.format.c_str(), f.path.c_str(), f.seconds, f.hash_seconds);
        print_split("train", f.train);
        print_split("test", f.test);
    });
}

void add_locate(CLI::App* data) {
    struct Opts {
        std::string run;
        std::vector<std::string> dirs;
        bool save = false, json = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = data->add_subcommand("locate", "Find the dataset a run was trained on by its fingerprint (the run's "
                                               "saved or recorded path first, then --data-dir and $VHMN_DATA_DIR)");
    cmd->add_option("RUN", o->run, "Run folder")->required();
    cmd->add_option("--data-dir", o->dirs, "Datasets, or folders of datasets, to search");
    cmd->add_flag("--save", o->save, "Re-point the run to the dataset found (RUN/data_location.json; config.json "
                                     "is left as it is)");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o] {
        const RunConfig cfg = read_run_config(o->run);
        if (!cfg.data.fingerprint)
            throw ConfigError(o->run + " was trained before runs recorded their data's fingerprint: its dataset cannot "
                                       "be found by content (give it with --data)");
        const auto& rec = *cfg.data.fingerprint;
        std::vector<std::string> places;
        const std::string saved = app::saved_data_location(o->run);
        if (!saved.empty()) places.push_back(saved);
        places.push_back(cfg.data.path);
        for (const auto& d : o->dirs) places.push_back(d);
        for (const auto& d : app::data_dirs_from_env()) places.push_back(d);
        data::LoadOptions load;
        load.channels = cfg.model.channels, load.image_size = cfg.model.image_size;
        int searched = 0;
        const auto found = app::locate_dataset(rec, app::candidate_datasets(places), load, &searched);
        if (!found)
            throw ConfigError("none of the " + std::to_string(searched) + " datasets searched holds the images " +
                              o->run + " was trained on (train " + describe(rec.train) + "; test " +
                              describe(rec.test) + "); add folders with --data-dir");
        const bool same_order = found->train.match == FingerprintMatch::Same && found->test.match == FingerprintMatch::Same;
        const bool moved = found->path != cfg.data.path;
        if (o->save && found->path != saved) app::save_data_location(o->run, found->path, rec);
        if (o->json) {
            nlohmann::json j;
            j["run"] = o->run, j["recorded_path"] = cfg.data.path, j["saved_path"] = saved;
            j["found"] = found->path, j["format"] = found->found.format, j["searched"] = searched;
            j["train"] = found->train.what, j["test"] = found->test.what, j["saved"] = o->save;
            std::cout << j.dump(2) << "\n";
            return;
        }
        std::printf("%s was trained on %s (%s)\n", o->run.c_str(), cfg.data.path.c_str(), cfg.data.name.c_str());
        print_split("train", rec.train);
        print_split("test", rec.test);
        std::printf("matched %s (%s) after fingerprinting %d dataset(s): %s\n", found->path.c_str(),
                    found->found.format.c_str(), searched,
                    same_order ? "the same images in the same order"
                               : "the same images in another order (indices are mapped by content hash when the run is opened)");
        if (o->save)
            std::printf("re-pointed: %s/%s now names it\n", o->run.c_str(), app::kDataLocationFile);
        else if (moved && found->path != saved) {
            std::string dirs;
            for (const auto& d : o->dirs) dirs += " --data-dir " + d;
            std::printf("to use it from now on: vhmn data locate %s%s --save\n", o->run.c_str(), dirs.c_str());
        }
    });
}

}  // namespace

void add_data(CLI::App& app) {
    auto* data = app.add_subcommand("data", "Datasets: identity of what a run was trained on; CIFAR-10-C export");
    data->require_subcommand(1);
    add_fingerprint(data);
    add_locate(data);
    add_corruptions(nullptr, data);
}

}  // namespace vhmn::cli
